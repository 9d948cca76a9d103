import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bypassesProxy, isLoopbackServer, resolveProxy } from '../../../src/kube/proxy.js';

const server = new URL('https://api.shop.example.com:6443');

describe('resolveProxy', () => {
  it("prefers the kubeconfig's proxy-url, even over NO_PROXY", () => {
    const proxy = resolveProxy(server, {
      proxyUrl: 'http://proxy.corp:3128',
      env: { HTTPS_PROXY: 'http://other:1', NO_PROXY: '*' },
    });
    assert.equal(proxy?.url.href, 'http://proxy.corp:3128/');
    assert.equal(proxy?.from, 'proxy-url');
  });

  it('takes HTTPS_PROXY (or https_proxy, a bare host:port too) for an https server', () => {
    assert.equal(resolveProxy(server, { env: { HTTPS_PROXY: 'http://p:8080' } })?.from, 'HTTPS_PROXY');
    assert.equal(resolveProxy(server, { env: { https_proxy: 'p:8080' } })?.url.href, 'http://p:8080/');
    assert.equal(resolveProxy(server, { env: { HTTP_PROXY: 'http://p:8080' } }), undefined);
    assert.equal(resolveProxy(server, { env: {} }), undefined);
  });

  it('refuses proxies it cannot use, naming the setting', () => {
    assert.throws(
      () => resolveProxy(server, { proxyUrl: 'socks5://p:1080' }),
      /proxy-url socks5:\/\/ proxies/,
    );
    assert.throws(
      () => resolveProxy(server, { env: { HTTPS_PROXY: 'http://[bad' } }),
      /HTTPS_PROXY "http:\/\/\[bad"/,
    );
  });
});

describe('bypassesProxy', () => {
  const cases: Array<[string, string, boolean]> = [
    ['https://127.0.0.1:6443', '127.0.0.1', true],
    ['https://127.0.0.1:6443', '127.0.0.2', false],
    ['https://127.0.0.1:6443', '', false],
    ['https://127.0.0.1:6443', '*', true],
    ['https://api.shop.example.com', 'example.com', true],
    ['https://api.shop.example.com', '.example.com', true],
    ['https://api.shop.example.com', '*.example.com', true],
    ['https://notexample.com', 'example.com', false],
    ['https://api.example.com:6443', 'api.example.com:6443', true],
    ['https://api.example.com:6443', 'api.example.com:443', false],
    ['https://[::1]:6443', '::1', true],
    ['https://[::1]:6443', '[::1]:6443', true],
    ['https://10.0.0.5', 'a.com, 10.0.0.5 ,b.com', true],
  ];
  for (const [url, noProxy, expected] of cases)
    it(`${url} with NO_PROXY="${noProxy}": ${expected ? 'direct' : 'proxied'}`, () => {
      assert.equal(bypassesProxy(new URL(url), noProxy), expected);
    });
});

describe('a loopback server', () => {
  for (const [url, expected] of [
    ['https://127.0.0.1:6443', true],
    ['https://127.8.9.10', true],
    ['https://localhost:6443', true],
    ['https://[::1]:6443', true],
    ['https://128.0.0.1', false],
    ['https://kubernetes:6443', false],
    ['https://localhost.example.com', false],
  ] as const)
    it(`${url} is ${expected ? '' : 'not '}loopback`, () =>
      assert.equal(isLoopbackServer(new URL(url)), expected));

  it('never goes through a proxy from the environment, as in kubectl; a proxy-url still applies', () => {
    const local = new URL('https://127.0.0.1:6443');
    assert.equal(resolveProxy(local, { env: { HTTPS_PROXY: 'http://p:8080' } }), undefined);
    assert.equal(resolveProxy(local, { proxyUrl: 'http://p:8080' })?.from, 'proxy-url');
  });
});
