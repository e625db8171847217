/**
 * The kustomize manifests, rendered by `kubectl kustomize` and checked against the Dockerfile and
 * the service's configuration defaults. kubectl is required: without it this test fails (CI
 * installs it from Debian's packages: apt-get install -y kubectl).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { loadKubernetesConfig } from '../../src/kubernetes/kubernetes.config.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

type Obj = Record<string, any>;

function kustomize(dir: string): Obj[] {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.error || probe.status !== 0) {
    assert.fail(
      `kubectl is required to render the manifests (kubectl kustomize) and was not found or does not run ` +
        `(${probe.error?.message ?? probe.stderr}). Install it: apt-get update && apt-get install -y kubectl`,
    );
  }
  const out = spawnSync('kubectl', ['kustomize', join(ROOT, dir)], { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 });
  assert.equal(out.status, 0, `kubectl kustomize ${dir} failed: ${out.stderr}`);
  const docs = parseAllDocuments(out.stdout);
  const objects: Obj[] = [];
  for (const doc of docs) {
    assert.deepEqual(doc.errors, [], `${dir}: a document does not parse`);
    const obj = doc.toJS() as Obj | null;
    if (obj === null) continue;
    assert.ok(obj.apiVersion && obj.kind && obj.metadata?.name, `${dir}: object without apiVersion/kind/name: ${JSON.stringify(obj).slice(0, 200)}`);
    objects.push(obj);
  }
  return objects;
}

function find(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} is rendered`);
  return found;
}

/** The runtime (last) stage of the Dockerfile. */
function dockerfile(): { stages: string[]; env: Record<string, string>; user: string; expose: number[]; cmd: string[] } {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = lines.filter((l) => /^FROM\s/i.test(l));
  const runtime = lines.slice(lines.lastIndexOf(stages[stages.length - 1]));
  const env: Record<string, string> = {};
  for (const l of runtime.filter((x) => /^ENV\s/i.test(x))) {
    for (const m of l.slice(3).matchAll(/([A-Z0-9_]+)=(\S+)/g)) env[m[1]] = m[2];
  }
  const user = runtime.filter((l) => /^USER\s/i.test(l)).pop()?.split(/\s+/)[1] ?? '';
  const expose = runtime.filter((l) => /^EXPOSE\s/i.test(l)).flatMap((l) => l.split(/\s+/).slice(1).map((p) => Number(p.split('/')[0])));
  const cmdLine = runtime.filter((l) => /^CMD\s/i.test(l)).pop() ?? '';
  return { stages, env, user, expose, cmd: JSON.parse(cmdLine.slice(3).trim()) as string[] };
}

function containerPort(container: Obj, name: string): number {
  const p = (container.ports ?? []).find((x: Obj) => x.name === name);
  assert.ok(p, `container ${container.name} has a port named ${name}`);
  return p.containerPort;
}

function checkHardened(workload: Obj): void {
  const pod = workload.spec.template.spec;
  const where = `${workload.kind}/${workload.metadata.name}`;
  assert.equal(pod.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
  assert.ok(Number.isInteger(pod.securityContext?.runAsUser) && pod.securityContext.runAsUser > 0, `${where}: numeric non-root runAsUser`);
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp RuntimeDefault`);
  for (const c of pod.containers) {
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${where}/${c.name}: read-only root filesystem`);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${where}/${c.name}: no privilege escalation`);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${where}/${c.name}: drops all capabilities`);
    for (const kind of ['requests', 'limits']) {
      for (const r of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[r], `${where}/${c.name}: resources.${kind}.${r}`);
    }
  }
}

const rendered = new Map<string, Obj[]>();
/** Rendered once per directory; every test fails with the kubectl message when kubectl is absent. */
function render(dir: string): Obj[] {
  let objects = rendered.get(dir);
  if (!objects) rendered.set(dir, (objects = kustomize(dir)));
  return objects;
}

describe('Kubernetes manifests (kubectl kustomize)', () => {
  let base: Obj[];
  let managed: Obj[];
  let examples: Obj[];
  const docker = dockerfile();
  const defaults = loadConfig({});
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };

  beforeEach(() => {
    base = render('k8s');
    managed = render('k8s/overlays/managed-redis');
    examples = render('k8s/examples');
  });

  it('renders every expected object, each with apiVersion, kind and name', () => {
    const kinds = base.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
    assert.deepEqual(kinds, [
      'ClusterRole/lookaside-endpointslice-reader',
      'ClusterRole/lookaside-token-reviewer',
      'ClusterRoleBinding/lookaside-token-reviewer',
      'ConfigMap/lookaside-config',
      'Deployment/lookaside',
      'Deployment/lookaside-redis',
      'Namespace/lookaside',
      'PodDisruptionBudget/lookaside',
      'RoleBinding/lookaside-endpointslice-reader',
      'Service/lookaside',
      'Service/lookaside-redis',
      'ServiceAccount/lookaside',
    ]);
    for (const o of base.filter((x) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(x.kind))) {
      assert.equal(o.metadata.namespace, 'lookaside', `${o.kind}/${o.metadata.name} is namespaced`);
    }
  });

  it('grants list and watch on endpointslices in its namespace and create on tokenreviews, nothing else, to the lookaside ServiceAccount', () => {
    const rulesOf = (role: Obj) =>
      role.rules.map((r: Obj) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: [...r.verbs].sort(), resourceNames: r.resourceNames }));
    for (const objects of [base, managed]) {
      const roles = objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
      assert.deepEqual(roles.map((r) => `${r.kind}/${r.metadata.name}`).sort(), [
        'ClusterRole/lookaside-endpointslice-reader',
        'ClusterRole/lookaside-token-reviewer',
      ]);
      assert.deepEqual(rulesOf(find(objects, 'ClusterRole', 'lookaside-endpointslice-reader')), [
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'], resourceNames: undefined },
      ]);
      assert.deepEqual(rulesOf(find(objects, 'ClusterRole', 'lookaside-token-reviewer')), [
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'], resourceNames: undefined },
      ]);
      // TokenReviews are cluster-scoped: that grant alone is cluster-wide; EndpointSlices are read in the lookaside namespace only.
      const clusterBindings = objects.filter((o) => o.kind === 'ClusterRoleBinding');
      assert.deepEqual(clusterBindings.map((b) => b.roleRef.name), ['lookaside-token-reviewer']);
      for (const binding of [...clusterBindings, ...objects.filter((o) => o.kind === 'RoleBinding')]) {
        assert.ok(roles.some((r) => r.kind === binding.roleRef.kind && r.metadata.name === binding.roleRef.name));
        assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'lookaside', namespace: 'lookaside' }]);
      }
      const [readerBinding] = objects.filter((o) => o.kind === 'RoleBinding');
      assert.equal(readerBinding.roleRef.name, 'lookaside-endpointslice-reader');
      assert.equal(readerBinding.metadata.namespace, 'lookaside');
    }
    const deployment = find(base, 'Deployment', 'lookaside');
    assert.equal(deployment.spec.template.spec.serviceAccountName, 'lookaside');
  });

  it('runs 2 hardened replicas with probes, resources and topology spread', () => {
    const d = find(base, 'Deployment', 'lookaside');
    assert.equal(d.spec.replicas, 2);
    checkHardened(d);
    checkHardened(find(base, 'Deployment', 'lookaside-redis'));
    const pod = d.spec.template.spec;
    const [c] = pod.containers;
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) assert.equal(probe.httpGet.port, 'http');
    const keys = pod.topologySpreadConstraints.map((t: Obj) => t.topologyKey).sort();
    assert.deepEqual(keys, ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const t of pod.topologySpreadConstraints) assert.deepEqual(t.labelSelector.matchLabels, d.spec.selector.matchLabels);
    assert.ok(pod.volumes.some((v: Obj) => v.name === 'tmp' && v.emptyDir), 'writable /tmp on a read-only root');
    const pdb = find(base, 'PodDisruptionBudget', 'lookaside');
    assert.deepEqual(pdb.spec.selector.matchLabels, d.spec.selector.matchLabels);
    assert.ok(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < d.spec.replicas, 'a PDB that still lets nodes drain');
  });

  it('agrees with the Dockerfile and the service defaults on image, user, ports and command', () => {
    const d = find(base, 'Deployment', 'lookaside');
    const [c] = d.spec.template.spec.containers;
    assert.equal(c.image, `lookaside:${pkg.version}`, 'image tag is the package version');
    assert.ok(docker.stages.length >= 2, 'multi-stage Dockerfile');
    assert.ok(docker.stages.every((s) => /node:20/.test(s) || /\$\{NODE_IMAGE\}/.test(s)));
    assert.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /ARG NODE_IMAGE=node:20-alpine/);
    assert.equal(docker.user, `${d.spec.template.spec.securityContext.runAsUser}:${d.spec.template.spec.securityContext.runAsGroup}`);
    assert.ok(docker.cmd.includes('dist/main.js') && pkg.scripts['start:prod'].includes('dist/main.js'), 'starts dist/main.js');

    const grpcPort = Number(defaults.grpcAddress.split(':').pop());
    const httpPort = defaults.httpPort;
    assert.equal(containerPort(c, 'grpc'), grpcPort);
    assert.equal(containerPort(c, 'http'), httpPort);
    assert.deepEqual([...docker.expose].sort(), [grpcPort, httpPort].sort());
    assert.equal(docker.env.LOOKASIDE_GRPC_ADDRESS, defaults.grpcAddress);
    assert.equal(Number(docker.env.LOOKASIDE_HTTP_PORT), httpPort);

    const cmName = c.envFrom.find((e: Obj) => e.configMapRef).configMapRef.name;
    const cm = find(base, 'ConfigMap', cmName);
    assert.equal(cm.data.LOOKASIDE_GRPC_ADDRESS, defaults.grpcAddress);
    assert.equal(Number(cm.data.LOOKASIDE_HTTP_PORT), httpPort);
    assert.equal(cm.data.REDIS_URL, 'redis://lookaside-redis:6379');
    const redisSvc = find(base, 'Service', 'lookaside-redis');
    assert.equal(redisSvc.spec.ports[0].port, 6379);

    const svc = find(base, 'Service', 'lookaside');
    assert.deepEqual(svc.spec.selector, d.spec.selector.matchLabels);
    for (const p of svc.spec.ports) containerPort(c, p.targetPort);
    assert.equal(svc.spec.ports.find((p: Obj) => p.name === 'grpc').port, grpcPort);
  });

  it('ships a Kubernetes configuration that the service accepts', () => {
    const cm = base.find((o) => o.kind === 'ConfigMap')!;
    const k8s = loadKubernetesConfig({ ...cm.data, KUBECONFIG: '/in-cluster-stand-in', POD_NAMESPACE: 'lookaside' }, { exists: () => false, read: () => '' });
    assert.equal(k8s.enabled, true);
    assert.deepEqual(k8s.discoveryNamespaces, ['lookaside']);
    assert.equal(cm.data.LOOKASIDE_AUTH_MODE, 'kubernetes', 'reporters authenticate with projected ServiceAccount tokens');
    assert.equal(loadConfig(cm.data).auth.mode, 'kubernetes');
  });

  it('points at a managed Redis through a Secret in the managed-redis overlay', () => {
    assert.equal(managed.filter((o) => o.metadata.name === 'lookaside-redis').length, 0, 'no development Redis');
    const secret = managed.find((o) => o.kind === 'Secret');
    assert.ok(secret, 'a Secret is generated');
    assert.ok(Buffer.from(secret.data.REDIS_URL, 'base64').toString().startsWith('rediss://'));
    const [c] = find(managed, 'Deployment', 'lookaside').spec.template.spec.containers;
    const refs = c.envFrom.map((e: Obj) => (e.configMapRef ? 'cm' : e.secretRef.name));
    assert.deepEqual(refs, ['cm', secret.metadata.name], 'the Secret comes last, so its REDIS_URL wins');
    // base/ sets no Redis: the Secret may hold any of the three modes and the service accepts it.
    const cm = find(managed, 'ConfigMap', c.envFrom.find((e: Obj) => e.configMapRef).configMapRef.name);
    assert.deepEqual(Object.keys(cm.data).filter((k) => k.startsWith('REDIS_')), []);
    const fromSecret = Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    assert.equal(loadConfig({ ...cm.data, ...fromSecret }).redis?.mode, 'single');
    assert.equal(loadConfig({ ...cm.data, REDIS_SENTINELS: 's-0:26379,s-1:26379', REDIS_PASSWORD: 'x', REDIS_TLS: 'on' }).redis?.mode, 'sentinel');
    assert.equal(loadConfig({ ...cm.data, REDIS_CLUSTER_NODES: 'r-0:6379,r-1:6379' }).redis?.mode, 'cluster');
  });

  it('has examples: a labelled backend Service with a grpc port, reporters and a lookaside:/// client', () => {
    const svc = find(examples, 'Service', 'echo');
    assert.equal(svc.metadata.labels['lookaside.io/service'], 'echo');
    assert.ok(svc.spec.ports.some((p: Obj) => p.name === 'grpc'));
    const grpcPort = Number(defaults.grpcAddress.split(':').pop());
    for (const name of ['echo', 'echo-client']) {
      const d = find(examples, 'Deployment', name);
      checkHardened(d);
      const [c] = d.spec.template.spec.containers;
      const addr = c.env.find((e: Obj) => e.name === 'LOOKASIDE_ADDRESS').value;
      assert.equal(addr, `lookaside.lookaside.svc:${grpcPort}`);
    }
    const backend = find(examples, 'Deployment', 'echo');
    assert.deepEqual(backend.spec.template.spec.containers[0].env.find((e: Obj) => e.name === 'POD_IP').valueFrom.fieldRef, { fieldPath: 'status.podIP' });
    assert.equal(svc.metadata.labels['lookaside.io/service-account'], backend.spec.template.spec.serviceAccountName, "the Service names its pods' ServiceAccount");
    assert.match(readFileSync(join(ROOT, 'k8s/examples/src/client.ts'), 'utf8'), /'lookaside:\/\/\/echo'/);
    assert.match(readFileSync(join(ROOT, 'k8s/examples/src/backend.ts'), 'utf8'), /new BackendReporter\(/);
  });

  it('gives the example backend its own ServiceAccount and a projected token for lookaside, which lookaside accepts', () => {
    const backend = find(examples, 'Deployment', 'echo');
    const pod = backend.spec.template.spec;
    const sa = find(examples, 'ServiceAccount', pod.serviceAccountName);
    assert.notEqual(sa.metadata.name, 'default');
    assert.equal(pod.automountServiceAccountToken, false, 'no Kubernetes API token: the backend does not call the API');
    const sources = pod.volumes.flatMap((v: Obj) => (v.projected?.sources ?? []).map((src: Obj) => ({ volume: v.name, ...src })));
    const projected = sources.find((src: Obj) => src.serviceAccountToken);
    assert.ok(projected, 'a projected serviceAccountToken volume');
    assert.deepEqual(projected.serviceAccountToken, { audience: 'lookaside', expirationSeconds: 3600, path: 'token' });
    const [c] = pod.containers;
    const mount = c.volumeMounts.find((m: Obj) => m.name === projected.volume);
    assert.equal(mount.mountPath, '/var/run/secrets/lookaside');
    assert.equal(mount.readOnly, true);
    const tokenFile = c.env.find((e: Obj) => e.name === 'LOOKASIDE_TOKEN_FILE').value;
    assert.equal(tokenFile, `${mount.mountPath}/${projected.serviceAccountToken.path}`, 'the reporter reads the projected token');
    assert.match(readFileSync(join(ROOT, 'client-sdk/src/auth-token.ts'), 'utf8'), /TOKEN_FILE_ENV = 'LOOKASIDE_TOKEN_FILE'/, 'the variable the SDK reads');

    const cm = base.find((o) => o.kind === 'ConfigMap')!;
    const audiences = loadKubernetesConfig({ ...cm.data, KUBECONFIG: '/k' }, { exists: () => false, read: () => '' }).tokenReview.audiences;
    assert.ok(audiences.includes(projected.serviceAccountToken.audience), "lookaside asks for the token's audience");
  });
});
