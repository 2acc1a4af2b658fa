import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('identity configuration: Ory Kratos', () => {
  it('is off without ORY_SDK_URL (built-in accounts)', () => {
    expect(loadConfig({}).identity.kratos).toBeUndefined();
    expect(loadConfig({ ORY_SDK_URL: '' }).identity.kratos).toBeUndefined();
  });

  it('takes the public API URL, the browser URL (default: the same) and a timeout', () => {
    expect(loadConfig({ ORY_SDK_URL: 'http://kratos:4433' }).identity.kratos).toEqual({ sdkUrl: 'http://kratos:4433', browserUrl: 'http://kratos:4433', timeoutMs: 5000 });
    expect(loadConfig({ ORY_SDK_URL: 'http://kratos:4433', ORY_BROWSER_URL: 'https://id.example.com', ORY_TIMEOUT_MS: '1500' }).identity.kratos).toEqual({
      sdkUrl: 'http://kratos:4433',
      browserUrl: 'https://id.example.com',
      timeoutMs: 1500,
    });
  });

  it('refuses what is not an http(s) URL or a sane timeout, naming the variable', () => {
    expect(() => loadConfig({ ORY_SDK_URL: 'kratos:4433' })).toThrow(ConfigError);
    expect(() => loadConfig({ ORY_SDK_URL: 'ftp://kratos' })).toThrow(/ORY_SDK_URL/);
    expect(() => loadConfig({ ORY_SDK_URL: 'http://kratos:4433', ORY_BROWSER_URL: 'nope' })).toThrow(/ORY_BROWSER_URL/);
    expect(() => loadConfig({ ORY_SDK_URL: 'http://kratos:4433', ORY_TIMEOUT_MS: '0' })).toThrow(/ORY_TIMEOUT_MS/);
  });
});
