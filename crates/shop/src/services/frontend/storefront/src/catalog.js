// The catalogue's categories, in display order (crates/shop/src/store/catalog_seed.rs).

export const CATEGORIES = [
  { id: 'electronics', label: 'Electronics' },
  { id: 'home-kitchen', label: 'Home & Kitchen' },
  { id: 'books', label: 'Books' },
  { id: 'clothing', label: 'Clothing' },
  { id: 'sports-outdoors', label: 'Sports & Outdoors' },
  { id: 'toys-games', label: 'Toys & Games' },
  { id: 'beauty', label: 'Beauty' },
];

export function categoryLabel(id) {
  return CATEGORIES.find((c) => c.id === id)?.label ?? id;
}

/** Where an ad leads: its target is a path of the shop's API, shown as a page of this one. */
export function adHref(target) {
  const product = /^\/api\/products\/(\d+)$/.exec(target ?? '');
  if (product) return `#/product/${product[1]}`;
  const category = /[?&]category=([a-z0-9-]+)/.exec(target ?? '');
  if (category) return `#/?category=${category[1]}`;
  return '#/';
}
