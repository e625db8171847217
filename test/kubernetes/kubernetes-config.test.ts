import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubernetesConfigError, loadKubernetesConfig, parseServiceEntry, type ConfigProbe } from '../../src/kubernetes/kubernetes.config.js';

const noFiles: ConfigProbe = { exists: () => false, read: () => '' };
const inCluster: ConfigProbe = {
  exists: (p) => p.endsWith('/token') || p.endsWith('/namespace'),
  read: (p) => (p.endsWith('/namespace') ? 'lookaside\n' : ''),
};
const clusterEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('Kubernetes configuration', () => {
  it('is off outside a cluster, and when nothing is configured', () => {
    const outside = loadKubernetesConfig({ LOOKASIDE_K8S_SERVICES: 'echo' }, noFiles);
    assert.equal(outside.enabled, false);
    assert.match(outside.disabledReason!, /credentials/);
    const nothing = loadKubernetesConfig(clusterEnv, inCluster);
    assert.equal(nothing.enabled, false);
    assert.match(nothing.disabledReason!, /nothing to watch/);
    assert.equal(loadKubernetesConfig({ ...clusterEnv, LOOKASIDE_K8S: 'off', LOOKASIDE_K8S_SERVICES: 'echo' }, inCluster).enabled, false);
  });

  it('is on in a cluster with services, defaulting to the pod namespace and the port named grpc', () => {
    const c = loadKubernetesConfig({ ...clusterEnv, LOOKASIDE_K8S_SERVICES: 'echo, api=shop/api-svc:h2c\nweb=web' }, inCluster);
    assert.equal(c.enabled, true);
    assert.equal(c.credentials, 'in-cluster');
    assert.deepEqual(c.services, [
      { name: 'echo', namespace: 'lookaside', service: 'echo', port: { name: 'grpc', strict: false } },
      { name: 'api', namespace: 'shop', service: 'api-svc', port: { name: 'h2c', strict: true } },
      { name: 'web', namespace: 'lookaside', service: 'web', port: { name: 'grpc', strict: false } },
    ]);
    assert.equal(c.addressType, 'IPv4');
    assert.equal(c.backoffMinMs, 500);
    assert.equal(c.backoffMaxMs, 30000);
  });

  it('prefers KUBECONFIG to the service account', () => {
    const c = loadKubernetesConfig({ ...clusterEnv, KUBECONFIG: '/k', LOOKASIDE_K8S_DISCOVERY_NAMESPACES: 'a,b,a' }, inCluster);
    assert.equal(c.credentials, 'kubeconfig');
    assert.deepEqual(c.discoveryNamespaces, ['a', 'b']);
    assert.deepEqual(loadKubernetesConfig({ KUBECONFIG: '/k', LOOKASIDE_K8S_DISCOVERY_NAMESPACES: 'a,*' }, noFiles).discoveryNamespaces, ['*']);
  });

  it('fails fast on bad input, and on LOOKASIDE_K8S=on without what it needs', () => {
    const bad: Record<string, string>[] = [
      { LOOKASIDE_K8S: 'maybe' },
      { LOOKASIDE_K8S_SERVICES: 'Echo' },
      { LOOKASIDE_K8S_SERVICES: 'echo:Bad_Port' },
      { LOOKASIDE_K8S_SERVICES: 'x=a/echo,x=b/echo' },
      { LOOKASIDE_K8S_ADDRESS_TYPE: 'FQDN' },
      { LOOKASIDE_K8S_BACKOFF_MIN_MS: '0' },
      { LOOKASIDE_K8S_BACKOFF_MIN_MS: '100', LOOKASIDE_K8S_BACKOFF_MAX_MS: '50' },
      { LOOKASIDE_K8S_DISCOVERY_NAMESPACES: 'UPPER' },
      { LOOKASIDE_K8S: 'on', LOOKASIDE_K8S_SERVICES: 'echo' },
      { LOOKASIDE_K8S: 'on', KUBECONFIG: '/k' },
    ];
    for (const env of bad) assert.throws(() => loadKubernetesConfig(env, noFiles), KubernetesConfigError, JSON.stringify(env));
  });

  it('has TokenReview and service-account label defaults', () => {
    const c = loadKubernetesConfig({}, noFiles);
    assert.equal(c.serviceAccountLabel, 'lookaside.io/service-account');
    assert.deepEqual(c.tokenReview, { audiences: ['lookaside'], cacheTtlMs: 60000, negativeCacheTtlMs: 5000, cacheSize: 10000, timeoutMs: 5000 });
  });

  it('reads the TokenReview settings and the service-account label', () => {
    const c = loadKubernetesConfig(
      {
        LOOKASIDE_AUTH_K8S_AUDIENCES: ' lookaside, https://lookaside.example ,,lookaside',
        LOOKASIDE_AUTH_K8S_CACHE_TTL_MS: '30000',
        LOOKASIDE_AUTH_K8S_NEGATIVE_CACHE_TTL_MS: '1000',
        LOOKASIDE_AUTH_K8S_CACHE_SIZE: '500',
        LOOKASIDE_AUTH_K8S_TIMEOUT_MS: '2000',
        LOOKASIDE_K8S_SERVICE_ACCOUNT_LABEL: 'example.com/reporter',
      },
      noFiles,
    );
    assert.equal(c.serviceAccountLabel, 'example.com/reporter');
    assert.deepEqual(c.tokenReview, {
      audiences: ['lookaside', 'https://lookaside.example'],
      cacheTtlMs: 30000,
      negativeCacheTtlMs: 1000,
      cacheSize: 500,
      timeoutMs: 2000,
    });
    assert.deepEqual(loadKubernetesConfig({ LOOKASIDE_AUTH_K8S_AUDIENCES: ' , ' }, noFiles).tokenReview.audiences, ['lookaside']);
  });

  it('refuses bad TokenReview settings and a bad service-account label', () => {
    const bad: Record<string, string>[] = [
      { LOOKASIDE_AUTH_K8S_CACHE_TTL_MS: '0' },
      { LOOKASIDE_AUTH_K8S_NEGATIVE_CACHE_TTL_MS: '-1' },
      { LOOKASIDE_AUTH_K8S_CACHE_SIZE: '1.5' },
      { LOOKASIDE_AUTH_K8S_TIMEOUT_MS: 'soon' },
      { LOOKASIDE_K8S_SERVICE_ACCOUNT_LABEL: 'not a label' },
      { LOOKASIDE_K8S_SERVICE_ACCOUNT_LABEL: 'Bad_Prefix/name' },
    ];
    for (const env of bad) assert.throws(() => loadKubernetesConfig(env, noFiles), KubernetesConfigError, JSON.stringify(env));
  });

  it('parses entries: [name=][namespace/]service[:port-name]', () => {
    assert.deepEqual(parseServiceEntry('ns/svc:', 'd', 'grpc'), { name: 'svc', namespace: 'ns', service: 'svc', port: { name: '', strict: true } });
    assert.deepEqual(parseServiceEntry('echo.v1=svc', 'd', 'grpc'), { name: 'echo.v1', namespace: 'd', service: 'svc', port: { name: 'grpc', strict: false } });
  });
});
