// The browser's OpenTelemetry: one tracer provider for the storefront-web service, exporting
// OTLP/HTTP JSON to the same origin, with session.id and traffic.type on every span and in the
// baggage of every request to the shop.

import {
  context,
  propagation,
  trace,
  SpanStatusCode,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { UserInteractionInstrumentation } from '@opentelemetry/instrumentation-user-interaction';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, StackContextManager, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_BROWSER_BRANDS,
  ATTR_BROWSER_LANGUAGE,
  ATTR_BROWSER_MOBILE,
  ATTR_BROWSER_PLATFORM,
  ATTR_SERVICE_NAMESPACE,
  ATTR_SESSION_ID,
} from '@opentelemetry/semantic-conventions/incubating';

import { SameOriginOtlpExporter } from './exporter.js';
import { sessionId } from './session.js';

export const SERVICE_NAME = 'storefront-web';
export const SERVICE_NAMESPACE = 'tracemart';
export const OTLP_PATH = '/otlp/v1/traces';
export const ATTR_TRAFFIC_TYPE = 'traffic.type';
export const ATTR_PAGE_ROUTE = 'page.route';

/** Requests the browser makes that are not shop traffic: never traced, no headers added. */
const UNTRACED = [/\/otlp\//, /\/api\/storefront\/config(\?|$)/];

let tracer = trace.getTracer(SERVICE_NAME);
let provider;
let routeOf = () => '/';

function browserAttributes() {
  const ua = navigator.userAgentData;
  const attributes = {
    [ATTR_USER_AGENT_ORIGINAL]: navigator.userAgent,
    [ATTR_BROWSER_LANGUAGE]: navigator.language,
    [ATTR_BROWSER_PLATFORM]: ua?.platform || navigator.platform,
  };
  if (ua) {
    attributes[ATTR_BROWSER_MOBILE] = Boolean(ua.mobile);
    if (Array.isArray(ua.brands) && ua.brands.length) {
      attributes[ATTR_BROWSER_BRANDS] = ua.brands.map((b) => `${b.brand} ${b.version}`);
    }
  }
  return attributes;
}

/** The traffic type a span inherits: its parent context's baggage, else `baseline`. */
function trafficOf(ctx) {
  return propagation.getBaggage(ctx)?.getEntry(ATTR_TRAFFIC_TYPE)?.value ?? 'baseline';
}

/** Puts the shop's tags on every span as it starts. */
const tagProcessor = {
  onStart(span, parentContext) {
    span.setAttribute(ATTR_SESSION_ID, sessionId);
    span.setAttribute(ATTR_TRAFFIC_TYPE, trafficOf(parentContext));
    span.setAttribute(ATTR_PAGE_ROUTE, routeOf());
  },
  onEnd() {},
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/** Whether a user interaction belongs to the checkout (the demo flow). */
function isCheckoutElement(element) {
  return Boolean(element.closest?.('[data-traffic="demo"]'));
}

/** Only interactions with controls become spans: a click on plain text is not an action. */
function isControl(element) {
  return Boolean(element.closest?.('a[href], button, input, select, textarea, label, form, summary'));
}

/**
 * Starts the SDK. `serviceVersion` comes from the storefront config; `currentRoute` names the
 * page (e.g. `/product/:id`) for the `page.route` attribute.
 */
export function startTelemetry({ serviceVersion, currentRoute }) {
  if (provider) return;
  if (currentRoute) routeOf = currentRoute;
  const resource = defaultResource().merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: SERVICE_NAME,
      [ATTR_SERVICE_NAMESPACE]: SERVICE_NAMESPACE,
      [ATTR_SERVICE_VERSION]: serviceVersion || 'unknown',
      ...browserAttributes(),
    }),
  );
  const exporter = new SameOriginOtlpExporter(new URL(OTLP_PATH, location.href).href);
  provider = new WebTracerProvider({
    resource,
    spanProcessors: [
      tagProcessor,
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: 2000, maxExportBatchSize: 64 }),
    ],
  });
  provider.register({
    contextManager: new StackContextManager(),
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  });
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new DocumentLoadInstrumentation(),
      new FetchInstrumentation({ ignoreUrls: UNTRACED }),
      new UserInteractionInstrumentation({
        eventNames: ['click', 'submit', 'change'],
        shouldPreventSpanCreation(eventType, element, span) {
          if (eventType === 'click' && !isControl(element)) return true;
          if (isCheckoutElement(element)) span.setAttribute(ATTR_TRAFFIC_TYPE, 'demo');
          return false;
        },
      }),
    ],
  });
  tracer = trace.getTracer(SERVICE_NAME, serviceVersion);
  // A page that is hidden may never be shown again: send what is buffered now.
  addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flush();
  });
  addEventListener('pagehide', flush);
}

export function flush() {
  return provider ? provider.forceFlush().catch(() => {}) : Promise.resolve();
}

export function getTracer() {
  return tracer;
}

/** `ctx` with the shop's baggage: `traffic.type` and `session.id`. */
export function withShopBaggage(ctx, trafficType) {
  const current = propagation.getBaggage(ctx) ?? propagation.createBaggage();
  const baggage = current
    .setEntry(ATTR_TRAFFIC_TYPE, { value: trafficType })
    .setEntry(ATTR_SESSION_ID, { value: sessionId });
  return propagation.setBaggage(ctx, baggage);
}

/** Records an exception on a span and marks it failed. */
export function recordError(span, error, attributes = {}) {
  if (!span) return;
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException({
    name: err.name,
    message: err.message,
    stack: err.stack,
  });
  span.setAttributes({
    [ATTR_ERROR_TYPE]: err.code || err.name || 'Error',
    ...attributes,
  });
  if (err.status) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, err.status);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

/**
 * A user action: a span named `name`, child of the active context (the click or submit span
 * of the user-interaction instrumentation when called from an event handler), carrying the
 * shop's baggage. `fn(ctx, span)` runs inside it; pass `ctx` to the API calls so their fetch
 * spans are its children. A failure is recorded on the span and thrown again.
 */
export async function runAction(name, { traffic = 'baseline', attributes = {}, parent } = {}, fn) {
  const parentCtx = withShopBaggage(parent ?? context.active(), traffic);
  const span = tracer.startSpan(name, { attributes }, parentCtx);
  const ctx = trace.setSpan(parentCtx, span);
  try {
    return await context.with(ctx, () => fn(ctx, span));
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** The trace id of a span, as the backend's spans carry it. */
export function traceIdOf(span) {
  return span?.spanContext().traceId ?? '';
}

/** Window errors and unhandled rejections, recorded as exceptions. */
export function recordUncaught() {
  const record = (error, kind) => {
    const active = trace.getActiveSpan();
    if (active?.isRecording()) {
      recordError(active, error);
      return;
    }
    const span = tracer.startSpan('uncaught error', { attributes: { 'error.source': kind } },
      withShopBaggage(context.active(), 'baseline'));
    recordError(span, error);
    span.end();
  };
  addEventListener('error', (event) => {
    record(event.error ?? new Error(event.message), 'window.error');
  });
  addEventListener('unhandledrejection', (event) => {
    record(event.reason, 'unhandledrejection');
  });
}
