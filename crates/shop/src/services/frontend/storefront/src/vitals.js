// Core Web Vitals (LCP, CLS, INP) of each page view, as the web-vitals package reports them
// (when the page is hidden, or an INP/CLS value grows): one `web-vitals` span per report,
// with the semantic conventions' browser.web_vital.* attributes, the same as a
// `browser.web_vital` span event, and a shorthand attribute per metric.

import { onCLS, onINP, onLCP } from 'web-vitals';

import { context } from '@opentelemetry/api';

import { flush, getTracer, withShopBaggage } from './telemetry.js';

const SHORTHAND = { LCP: 'web_vital.lcp_ms', CLS: 'web_vital.cls', INP: 'web_vital.inp_ms' };

function report(metric) {
  const attributes = {
    'browser.web_vital.name': metric.name.toLowerCase(),
    'browser.web_vital.value': metric.value,
    'browser.web_vital.delta': metric.delta,
    'browser.web_vital.id': metric.id,
    'browser.web_vital.rating': metric.rating,
    'browser.web_vital.navigation_type': metric.navigationType,
  };
  const span = getTracer().startSpan('web-vitals', {
    attributes: { ...attributes, [SHORTHAND[metric.name]]: metric.value },
  }, withShopBaggage(context.active(), 'baseline'));
  span.addEvent('browser.web_vital', attributes);
  span.end();
  // Reports come as the page is hidden, maybe for good: send them now.
  if (document.visibilityState === 'hidden') flush();
}

export function watchVitals() {
  onLCP(report);
  onCLS(report);
  onINP(report);
}
