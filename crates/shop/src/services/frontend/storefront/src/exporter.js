// The span exporter: OTLP/HTTP JSON (the SDK's own serializer) posted to the same origin.
//
// Not @opentelemetry/exporter-trace-otlp-http: its fetch sends every export with
// `keepalive` and never reads the answer, and Chromium keeps an unread keepalive answer
// counted against its 64 KiB keepalive budget, so after a few exports it stops sending spans.
// Here the answer is always read, and `keepalive` is used only while the page is hidden (the
// last flush before it may be gone), for bodies that fit the budget.

import { context } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';

const KEEPALIVE_MAX_BYTES = 60 * 1024;
const TIMEOUT_MS = 10_000;

// The browser's own fetch, taken before the fetch instrumentation wraps it: exports are not
// traced.
const nativeFetch = globalThis.fetch.bind(globalThis);

export class SameOriginOtlpExporter {
  constructor(url) {
    this.url = url;
    this.pending = new Set();
  }

  export(spans, done) {
    const body = JsonTraceSerializer.serializeRequest(spans);
    const keepalive = document.visibilityState === 'hidden' && body.byteLength <= KEEPALIVE_MAX_BYTES;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    const sent = context.with(suppressTracing(context.active()), () => nativeFetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      keepalive,
      signal: abort.signal,
      credentials: 'same-origin',
    }))
      .then(async (response) => {
        await response.arrayBuffer();
        done(response.ok
          ? { code: ExportResultCode.SUCCESS }
          : { code: ExportResultCode.FAILED, error: new Error(`OTLP export failed with HTTP ${response.status}`) });
      })
      .catch((error) => done({ code: ExportResultCode.FAILED, error }))
      .finally(() => {
        clearTimeout(timer);
        this.pending.delete(sent);
      });
    this.pending.add(sent);
  }

  forceFlush() {
    return Promise.all(this.pending).then(() => {});
  }

  shutdown() {
    return this.forceFlush();
  }
}
