/**
 * Builds a packet from hex text in which every layer is written out and commented (goflow2's
 * decoder tests keep hand-written packets the same way). `#` starts a comment to the end of the
 * line; whitespace is ignored. Throws on anything that is not whole hex bytes, so a typo in a
 * fixture fails loudly instead of shifting every later field.
 */
export function hex(...layers: string[]): Uint8Array {
  const digits = layers
    .join('\n')
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`fixture is not whole hex bytes: ${digits}`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

/** `count` copies of a layer (stacked tags, label stacks, header chains). */
export function repeat(layer: string, count: number): string {
  return Array.from({ length: count }, () => layer).join('\n');
}
