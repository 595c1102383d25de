import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasTool, tempDir } from '../helpers/collectors.js';
import { REPO_ROOT } from '../helpers/shared-pcaps.js';
import { createVethLab, VETH_LAB_SKIP, type VethLab } from '../helpers/veth-lab.js';

/**
 * The release artifacts of packaging/make-release.sh (what `./build.sh --package` runs after the
 * build), checked the way an operator meets them: the .deb is installed with dpkg on this machine,
 * its files, user, configuration and systemd unit are inspected (systemd-analyze verify and
 * security, offline: no systemd runs here), the service's capability set is shown to be enough for
 * live capture, then the package is removed and purged. The tarball is listed, extracted and run.
 * The expectations come from package.json (version, dependencies), dpkg's own records and
 * systemd-analyze, not from the packaging script. Whatever happens, the package, its user and its
 * directories are purged and the artifacts deleted at the end.
 */

const PACKAGE_JSON = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
/** npm's record of the dependency tree: which packages only development needs. */
const LOCK_PACKAGES = (JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; optional?: boolean }>;
}).packages;
const lockPaths = (keep: (entry: { dev?: boolean; optional?: boolean }) => boolean): string[] =>
  Object.entries(LOCK_PACKAGES)
    .filter(([path, entry]) => path.startsWith('node_modules/') && keep(entry))
    .map(([path]) => path);
/** Needed at run time on every platform (optional packages are platform-specific builds). */
const PRODUCTION_MODULES = lockPaths((entry) => entry.dev !== true && entry.optional !== true);
const DEV_ONLY_MODULES = lockPaths((entry) => entry.dev === true);
const MAKE_RELEASE = join(REPO_ROOT, 'packaging/make-release.sh');
const DEMO_PCAP = join(REPO_ROOT, 'agent/test/fixtures/demo-rush.pcap');
const UNIT = '/lib/systemd/system/tapflow.service';
const CONFIG = '/etc/tapflow/tapflow.json';
const STATE_DIR = '/var/lib/tapflow';
/** systemd's PATH for system services: where the service finds `node`. */
const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_EXPOSURE = 2.0;
/** Where systemd/README.md says the package puts things; every installed file is under one. */
const DOCUMENTED_LOCATIONS = ['/usr/bin/tapflow', '/usr/lib/tapflow/', CONFIG, UNIT, '/usr/share/doc/tapflow/', STATE_DIR];

function run(command: string, args: string[], options: { timeoutMs?: number; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: 'utf8', timeout: options.timeoutMs ?? 60_000, cwd: options.cwd ?? REPO_ROOT });
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  assert.equal(result.status, 0, `${what} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** dpkg's status of tapflow ('ii', 'rc', …), or null when dpkg does not know it. */
function packageStatus(): string | null {
  const query = run('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', 'tapflow']);
  const status = query.status === 0 ? query.stdout.trim() : '';
  return status === '' || status.startsWith('un') ? null : status;
}

const userExists = (): boolean => run('getent', ['passwd', 'tapflow']).status === 0;
const groupExists = (): boolean => run('getent', ['group', 'tapflow']).status === 0;

function skipReason(): string | false {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'installing a Debian package needs root on Linux: skipped';
  for (const tool of ['dpkg', 'dpkg-deb', 'dpkg-query', 'systemd-analyze', 'tar', 'npm', 'getent']) {
    if (!hasTool(tool)) return `${tool} not installed: Debian package test skipped`;
  }
  if (!existsSync(join(REPO_ROOT, 'node_modules/cap/build/Release/cap.node'))) return 'the native cap module is not built (./build.sh): skipped';
  // The test purges what it installs: never run over an operator's own tapflow.
  if (packageStatus() !== null) return 'a tapflow package is already installed on this machine (the test would purge it): skipped';
  if (userExists() || groupExists() || existsSync('/etc/tapflow') || existsSync(STATE_DIR)) {
    return 'a tapflow user or group, /etc/tapflow or /var/lib/tapflow already exists (the test would remove it): skipped';
  }
  return false;
}

/** Everything the test may have left, in reverse order of creation; each step is best-effort. */
function purgeEverything(): void {
  if (packageStatus() !== null) run('dpkg', ['--purge', 'tapflow'], { timeoutMs: 120_000 });
  // Only reached when dpkg could not purge (e.g. a half-installed package): skipReason proved
  // none of these existed before the test.
  if (userExists()) run('userdel', ['tapflow']);
  if (groupExists()) run('groupdel', ['tapflow']);
  rmSync('/etc/tapflow', { recursive: true, force: true });
  rmSync(STATE_DIR, { recursive: true, force: true });
}

/** `systemd-analyze security` prints "→ Overall exposure level for tapflow.service: 1.7 OK". */
function exposureOf(report: string): number {
  const match = /Overall exposure level for tapflow\.service: (\d+(?:\.\d+)?)/.exec(report);
  assert.ok(match, `no overall exposure in:\n${report}`);
  return Number(match[1]);
}

const skip = skipReason();

describe('release artifacts: the Debian package and the tarball', { skip }, () => {
  const artifacts = tempDir('tapflow-release-test-');
  const debArch = skip ? '' : run('dpkg', ['--print-architecture']).stdout.trim();
  const version = PACKAGE_JSON.version;
  const deb = join(artifacts.dir, `tapflow_${version.replaceAll('-', '~')}_${debArch}.deb`);
  const treeName = `tapflow-${version}-linux-${process.arch}`;
  const tarball = join(artifacts.dir, `${treeName}.tar.gz`);

  before(() => {
    ok(run('bash', [MAKE_RELEASE, '--out', artifacts.dir], { timeoutMs: 240_000 }), 'packaging/make-release.sh');
  }, { timeout: 250_000 });

  after(() => {
    purgeEverything();
    artifacts.remove();
  });

  it('writes a .deb and a tarball named after the version and architectures', () => {
    assert.deepEqual(readdirSync(artifacts.dir).sort(), [`${treeName}.tar.gz`, `tapflow_${version.replaceAll('-', '~')}_${debArch}.deb`].sort());
    const field = (name: string) => ok(run('dpkg-deb', ['-f', deb, name]), 'dpkg-deb -f').trim();
    assert.equal(field('Package'), 'tapflow');
    assert.equal(field('Version'), version.replaceAll('-', '~'));
    assert.equal(field('Architecture'), debArch);
    assert.match(field('Depends'), /\blibpcap0\.8\b/);
    assert.doesNotMatch(field('Depends'), /\bnodejs\b/, 'Debian 12 nodejs is 18: no dependency on it');
  });

  it('the tarball holds the production tree with the native cap module, and runs from where it is extracted', () => {
    const listing = ok(run('tar', ['-tzf', tarball]), 'tar -t').split('\n');
    for (const path of ['package.json', 'README.md', 'agent/bin/tapflow', 'agent/dist/src/cli/main.js', 'node_modules/cap/build/Release/cap.node', 'systemd/tapflow.service', 'probe-config/packaged/tapflow.json']) {
      assert.ok(listing.includes(`${treeName}/${path}`), `${path} in the tarball`);
    }
    assert.ok(PRODUCTION_MODULES.length > 0 && DEV_ONLY_MODULES.length > 0);
    for (const module of PRODUCTION_MODULES) assert.ok(listing.includes(`${treeName}/${module}/package.json`), `${module} bundled`);
    for (const module of DEV_ONLY_MODULES) assert.ok(!listing.some((path) => path.startsWith(`${treeName}/${module}/`)), `${module} (development only) left out`);
    const agentFiles = listing.filter((path) => path.startsWith(`${treeName}/agent/`) && !path.endsWith('/'));
    assert.deepEqual(agentFiles.filter((path) => !/\/agent\/(bin\/tapflow|dist\/src\/.+\.js)$/.test(path)), [], 'agent/: the launcher and compiled sources only (no tests, maps, TypeScript)');

    const extracted = join(artifacts.dir, 'extracted');
    mkdirSync(extracted);
    ok(run('tar', ['-xzf', tarball, '-C', extracted]), 'tar -x');
    const tree = join(extracted, treeName);
    assert.equal(ok(run(process.execPath, [join(tree, 'agent/bin/tapflow'), '--version']), 'tapflow --version').trim(), version);
    ok(run(process.execPath, ['-e', 'require(process.argv[1])', join(tree, 'node_modules/cap')]), 'loading the bundled cap module');
    const out = join(artifacts.dir, 'tarball-replay.ipfix');
    ok(run(process.execPath, [join(tree, 'agent/bin/tapflow'), 'replay', DEMO_PCAP, '--out', out, '--quiet'], { cwd: artifacts.dir }), 'replay with the extracted tree');
    assert.ok(statSync(out).size > 0);
    rmSync(extracted, { recursive: true, force: true });
  });

  it('dpkg -i installs the files where systemd/README.md says, creates the user and owns the directories', () => {
    ok(run('dpkg', ['--install', deb], { timeoutMs: 120_000 }), 'dpkg -i');
    assert.equal(packageStatus(), 'ii');
    const listed = new Set(ok(run('dpkg-query', ['-L', 'tapflow']), 'dpkg -L').split('\n'));
    const expected = [
      '/usr/bin/tapflow',
      '/usr/lib/tapflow/package.json',
      '/usr/lib/tapflow/agent/bin/tapflow',
      '/usr/lib/tapflow/agent/dist/src/cli/main.js',
      '/usr/lib/tapflow/node_modules/cap/build/Release/cap.node',
      CONFIG,
      UNIT,
      '/usr/share/doc/tapflow/README.md',
      '/usr/share/doc/tapflow/README.systemd.md',
      '/usr/share/doc/tapflow/copyright',
    ];
    for (const path of expected) {
      assert.ok(listed.has(path), `dpkg lists ${path}`);
      assert.ok(existsSync(path), `${path} exists`);
    }
    const readme = readFileSync(join(REPO_ROOT, 'systemd/README.md'), 'utf8');
    for (const location of DOCUMENTED_LOCATIONS) assert.ok(readme.includes(location), `systemd/README.md names ${location}`);
    for (const path of listed) {
      // Directories (and /lib, a symbolic link to usr/lib on merged-/usr systems) hold nothing themselves.
      if (path === '' || path === '/.' || lstatSync(path).isDirectory() || (lstatSync(path).isSymbolicLink() && existsSync(path) && statSync(path).isDirectory())) continue;
      assert.ok(DOCUMENTED_LOCATIONS.some((location) => path === location || path.startsWith(location)), `${path} is under a documented location`);
    }
    for (const module of PRODUCTION_MODULES) assert.ok(existsSync(`/usr/lib/tapflow/${module}/package.json`), `${module} installed`);
    for (const module of DEV_ONLY_MODULES) assert.ok(!existsSync(`/usr/lib/tapflow/${module}`), `${module} (development only) not installed`);
    assert.equal(ok(run('dpkg-query', ['-W', '-f=${Conffiles}', 'tapflow']), 'conffiles').trim().split(/\s+/)[0], CONFIG, 'the configuration is a conffile');
    assert.deepEqual(JSON.parse(readFileSync(CONFIG, 'utf8')), JSON.parse(readFileSync(join(REPO_ROOT, 'probe-config/packaged/tapflow.json'), 'utf8')));

    const [name, , uid, gid, , home, shell] = ok(run('getent', ['passwd', 'tapflow']), 'getent passwd').trim().split(':');
    assert.equal(name, 'tapflow');
    assert.equal(home, STATE_DIR);
    assert.match(shell ?? '', /\/nologin$/);
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, `a system uid, got ${uid}`);
    for (const path of ['/etc/tapflow', CONFIG, STATE_DIR]) {
      const stat = statSync(path);
      assert.equal(stat.uid, Number(uid), `${path} belongs to tapflow`);
      assert.equal(stat.gid, Number(gid), `${path} belongs to group tapflow`);
      assert.equal(stat.mode & 0o007, 0, `${path} is not world-accessible`);
    }
  });

  it('/usr/bin/tapflow reports package.json version and accepts the packaged configuration', () => {
    assert.equal(ok(run('/usr/bin/tapflow', ['--version'], { cwd: '/' }), 'tapflow --version').trim(), version);
    assert.equal(ok(run('/usr/bin/tapflow', ['check-config', CONFIG], { cwd: '/' }), 'tapflow check-config').trim(), `${CONFIG}: valid`);
  });

  it('systemd-analyze verify accepts the installed unit, and its exposure is at most 2.0', () => {
    const verify = run('systemd-analyze', ['verify', UNIT]);
    assert.equal(verify.status, 0, verify.stderr);
    const aboutUnit = `${verify.stdout}${verify.stderr}`.split('\n').filter((line) => line.includes('tapflow'));
    assert.deepEqual(aboutUnit, [], 'no warning about tapflow.service');

    const security = ok(run('systemd-analyze', ['security', '--offline=true', UNIT]), 'systemd-analyze security');
    const exposure = exposureOf(security);
    assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} > ${MAX_EXPOSURE}:\n${security}`);
    for (const line of ['User=/DynamicUser=', 'CapabilityBoundingSet=~CAP_NET_ADMIN', 'CapabilityBoundingSet=~CAP_SYS_ADMIN', 'NoNewPrivileges=', 'ProtectSystem=', 'PrivateDevices=']) {
      assert.ok(security.split('\n').some((row) => row.startsWith('✓') && row.includes(line)), `${line} passes:\n${security}`);
    }
    // Node's JIT needs writable-then-executable memory: this setting would kill it at start, and
    // only a running systemd would notice.
    assert.doesNotMatch(readFileSync(UNIT, 'utf8'), /^MemoryDenyWriteExecute=(yes|true|on|1)\s*$/m);
  });

  it('as the tapflow user with only the unit\'s capabilities, tapflow captures in promiscuous mode into its state directory', { skip: VETH_LAB_SKIP || (hasTool('setpriv') ? false : 'setpriv not installed: skipped') }, async () => {
    const unit = readFileSync(UNIT, 'utf8');
    const capabilities = /^AmbientCapabilities=(.+)$/m.exec(unit)?.[1]?.trim().split(/\s+/) ?? [];
    assert.deepEqual(/^CapabilityBoundingSet=(.+)$/m.exec(unit)?.[1]?.trim().split(/\s+/), capabilities, 'bounding set = ambient set');
    const caps = capabilities.map((cap) => `+${cap.replace(/^CAP_/, '').toLowerCase()}`).join(',');
    let lab: VethLab | undefined;
    let agent: ChildProcess | undefined;
    try {
      lab = createVethLab('tfdeb', 1);
      const out = join(STATE_DIR, 'live.ipfix');
      agent = spawn(
        'setpriv',
        ['--reuid=tapflow', '--regid=tapflow', '--init-groups', `--inh-caps=-all,${caps}`, `--ambient-caps=-all,${caps}`, `--bounding-set=-all,${caps}`, '--no-new-privs',
          'env', '-i', `PATH=${SERVICE_PATH}`, '/usr/bin/tapflow', 'run', '--interface', lab.outside(0), '--out', out, '--quiet'],
        { cwd: STATE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      agent.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => agent!.once('close', (code) => resolve(code)));
      const deadline = Date.now() + 15_000;
      while (!stderr.includes('capturing on') && agent.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.match(stderr, /capturing on/, `tapflow run did not start:\n${stderr}`);
      const link = ok(run('ip', ['-d', 'link', 'show', lab.outside(0)]), 'ip link');
      assert.match(link, /promiscuity [1-9]/, 'promiscuous mode without CAP_NET_ADMIN');
      await lab.replay(DEMO_PCAP, ['--pps', '20000']);
      await new Promise((resolve) => setTimeout(resolve, 500));
      agent.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.equal(statSync(out).uid, statSync(STATE_DIR).uid, 'the IPFIX file belongs to tapflow');
      const records = ok(run('/usr/bin/tapflow', ['inspect', out, '--json']), 'tapflow inspect').trim().split('\n').filter(Boolean);
      assert.ok(records.length > 0, 'flows were captured and exported');
    } finally {
      if (agent && agent.exitCode === null) agent.kill('SIGKILL');
      lab?.remove();
    }
  });

  it('reinstalling keeps a changed configuration (a conffile) and its ownership', () => {
    const changed = { capture: { interfaces: ['eth1'] }, export: { file: `${STATE_DIR}/flows.ipfix` } };
    writeFileSync(CONFIG, `${JSON.stringify(changed, null, 2)}\n`);
    ok(run('dpkg', ['--install', deb], { timeoutMs: 120_000 }), 'dpkg -i over itself');
    assert.deepEqual(JSON.parse(readFileSync(CONFIG, 'utf8')), changed);
    assert.equal(statSync(CONFIG).uid, statSync(STATE_DIR).uid);
  });

  it('dpkg -r removes the program and the unit but keeps the configuration; dpkg -P removes everything', () => {
    ok(run('dpkg', ['--remove', 'tapflow'], { timeoutMs: 120_000 }), 'dpkg -r');
    assert.equal(packageStatus(), 'rc');
    for (const path of ['/usr/bin/tapflow', '/usr/lib/tapflow', UNIT, '/usr/share/doc/tapflow']) assert.ok(!existsSync(path), `${path} removed`);
    assert.ok(existsSync(CONFIG), 'the conffile stays until purge');
    assert.ok(userExists(), 'the user stays until purge');

    ok(run('dpkg', ['--purge', 'tapflow'], { timeoutMs: 120_000 }), 'dpkg -P');
    assert.equal(packageStatus(), null);
    for (const path of ['/etc/tapflow', STATE_DIR]) assert.ok(!existsSync(path), `${path} removed`);
    assert.ok(!userExists(), 'the user is removed');
    assert.ok(!groupExists(), 'the group is removed');
  });
});
