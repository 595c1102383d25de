import { AgentError } from '../core/errors.js';

/**
 * Why a live capture could not start, as stable codes with messages that tell the operator what to
 * do. Raised by LiveCapture.open() only (start-up), never on the packet path.
 */
export const CAPTURE_NO_INTERFACE = 'TAPFLOW_E_CAPTURE_NO_INTERFACE';
export const CAPTURE_PERMISSION = 'TAPFLOW_E_CAPTURE_PERMISSION';
export const CAPTURE_FILTER = 'TAPFLOW_E_CAPTURE_FILTER';
export const CAPTURE_OPTION = 'TAPFLOW_E_CAPTURE_OPTION';
export const CAPTURE_LINK_TYPE = 'TAPFLOW_E_CAPTURE_LINK_TYPE';
export const CAPTURE_OPEN = 'TAPFLOW_E_CAPTURE_OPEN';

export function noInterfaceError(interfaceName: string, cause?: unknown): AgentError {
  return new AgentError(
    CAPTURE_NO_INTERFACE,
    `capture interface "${interfaceName}" does not exist in this network namespace (see \`ip link\`)`,
    cause === undefined ? undefined : { cause },
  );
}

export function permissionError(interfaceName: string, cause: unknown): AgentError {
  return new AgentError(
    CAPTURE_PERMISSION,
    `not allowed to capture on "${interfaceName}" (${messageOf(cause)}): run tapflow as root, or grant ` +
      'CAP_NET_RAW to node (promiscuous mode needs nothing more), e.g. `setcap cap_net_raw=eip $(readlink -f $(which node))`, ' +
      'or in the systemd unit `AmbientCapabilities=CAP_NET_RAW` (systemd/tapflow.service has it)',
    { cause },
  );
}

export function filterError(filter: string, cause: unknown): AgentError {
  return new AgentError(
    CAPTURE_FILTER,
    `invalid capture filter ${JSON.stringify(filter)}: ${messageOf(cause)} (syntax: man 7 pcap-filter)`,
    { cause },
  );
}

export function optionError(message: string): AgentError {
  return new AgentError(CAPTURE_OPTION, message);
}

export function linkTypeError(interfaceName: string, capLinkType: string): AgentError {
  return new AgentError(CAPTURE_LINK_TYPE, `interface "${interfaceName}" has an unsupported link type (${capLinkType})`);
}

export function openError(interfaceName: string, cause: unknown): AgentError {
  return new AgentError(CAPTURE_OPEN, `cannot capture on "${interfaceName}": ${messageOf(cause)}`, { cause });
}

/** libpcap reports EPERM/EACCES as "socket: Operation not permitted" or "You don't have permission…". */
export function looksLikePermissionProblem(cause: unknown): boolean {
  return /not permitted|permission|EPERM|EACCES/i.test(messageOf(cause));
}

/** libpcap's "No such device exists" / "SIOCGIFHWADDR: No such device". */
export function looksLikeMissingDevice(cause: unknown): boolean {
  return /no such device/i.test(messageOf(cause));
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
