/** KubernetesModule through Nest DI: inert when not configured; loads KUBECONFIG when it is. */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NestFactory } from '@nestjs/core';
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesMembership, KubernetesModule, loadKubernetesConfig, TokenReviewer, TokenReviewUnavailableError } from '../../src/kubernetes/index.js';
import { FakeApiServer } from './fake-apiserver.js';
import { ip, range, slice, until } from './helpers.js';

const KEYS = ['KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'LOOKASIDE_K8S', 'LOOKASIDE_K8S_SERVICES', 'LOOKASIDE_K8S_DISCOVERY_NAMESPACES'];

function withEnv(env: Record<string, string>): () => void {
  const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
  for (const k of KEYS) delete process.env[k];
  Object.assign(process.env, env);
  return () => {
    for (const k of KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
}

describe('KubernetesModule', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lookaside-k8s-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is inert when not configured', async () => {
    const restore = withEnv({});
    try {
      const app = await NestFactory.createApplicationContext(KubernetesModule, { logger: false });
      const m = app.get(KubernetesMembership);
      assert.equal(m.enabled(), false);
      assert.equal(m.watches('echo'), false);
      assert.equal(m.endpoints('echo'), undefined);
      await assert.rejects(app.get(TokenReviewer).review('token'), new TokenReviewUnavailableError('no Kubernetes credentials'));
      await app.close();
    } finally {
      restore();
    }
  });

  it('watches through a kubeconfig file and stops with the application', async () => {
    const server = new FakeApiServer();
    await server.start();
    server.apply(slice('echo-1', 'echo', range(0, 3)));
    const kubeconfig = join(dir, 'config');
    server.writeKubeconfig(kubeconfig);
    const restore = withEnv({ KUBECONFIG: kubeconfig, LOOKASIDE_K8S: 'on', LOOKASIDE_K8S_SERVICES: 'echo=demo/echo' });
    try {
      const app = await NestFactory.createApplicationContext(KubernetesModule, { logger: false });
      await app.init();
      const m = app.get(KubernetesMembership);
      assert.equal(m.enabled(), true);
      assert.equal(await m.whenSynced(5000), true, JSON.stringify(m.status()));
      assert.deepEqual(m.endpoints('echo')!.map((e) => e.host), [ip(0), ip(1), ip(2)]);
      const token = server.issueToken({ namespace: 'demo', serviceAccount: 'echo', podName: 'pod-0' });
      const review = await app.get(TokenReviewer).review(token);
      assert.equal(review.authenticated && review.identity.podName, 'pod-0', 'TokenReview through the same kubeconfig');
      await until(() => server.openWatches === 1, 'watch open');
      await app.close();
      await until(() => server.openWatches === 0, 'watch closed by app.close()');
    } finally {
      restore();
      await server.close();
    }
  });

  it('reviews tokens with the credentials found even when membership is off', async () => {
    const server = new FakeApiServer();
    await server.start();
    const kubeconfig = join(dir, 'reviews-only');
    server.writeKubeconfig(kubeconfig);
    const restore = withEnv({ KUBECONFIG: kubeconfig });
    try {
      const app = await NestFactory.createApplicationContext(KubernetesModule, { logger: false });
      assert.equal(app.get(KubernetesMembership).enabled(), false, 'nothing to watch');
      const review = await app.get(TokenReviewer).review(server.issueToken({ namespace: 'demo', serviceAccount: 'ci' }));
      assert.equal(review.authenticated && review.identity.serviceAccount, 'ci');
      await app.close();
    } finally {
      restore();
      await server.close();
    }
  });

  it('starts with an unreadable kubeconfig when nothing is watched, TokenReview then being unavailable', async () => {
    const restore = withEnv({ KUBECONFIG: join(dir, 'missing') });
    try {
      const app = await NestFactory.createApplicationContext(KubernetesModule, { logger: false });
      await assert.rejects(app.get(TokenReviewer).review('token'), new TokenReviewUnavailableError('no Kubernetes credentials'));
      await app.close();
    } finally {
      restore();
    }
  });

  it('retries a failing credential plugin with backoff and never crashes', async () => {
    const server = new FakeApiServer();
    await server.start();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: server.url, skipTLSVerify: true }],
      users: [{ name: 'broken', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/nonexistent/credential-plugin', interactiveMode: 'Never' } }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'broken' }],
      currentContext: 'fake',
    });
    const m = new KubernetesMembership(
      loadKubernetesConfig({ KUBECONFIG: '/unused', LOOKASIDE_K8S_SERVICES: 'echo=demo/echo', LOOKASIDE_K8S_BACKOFF_MIN_MS: '10', LOOKASIDE_K8S_BACKOFF_MAX_MS: '40' }),
      kc,
    );
    try {
      m.start();
      await until(() => m.status()[0].failures >= 3, 'three failures, each retried');
      assert.equal(m.endpoints('echo'), undefined, 'never synced');
      assert.equal(server.requests.lists, 0, 'no unauthenticated request reached the apiserver');
    } finally {
      await m.stop();
      await server.close();
    }
  });
});
