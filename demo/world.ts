// The demo world: merchants, stores, catalogs, promotions and demand rhythms the workload generator draws from.
// A pizza chain across many time zones (DST, +05:30, +05:45, half-hour zones), a retailer, a web shop, and on
// request any number of small generic merchants. Store sizes follow a Zipf law so a few stores carry most orders.
import type { DimensionsFile, MerchantDim, StoreDim } from '../pipeline/contracts/dimensions.js';
import type { PROMOTION_KINDS } from '../pipeline/contracts/events.js';
import { Rng } from './random.js';

export type Profile = 'pizza' | 'retail' | 'webshop' | 'cafe';
export type PromotionKind = (typeof PROMOTION_KINDS)[number];

export interface CatalogItem {
  sku: string;
  category: string;
  /** Page slug for product URLs. */
  slug: string;
  price_minor: number;
  /** Relative popularity within its category. */
  weight: number;
  /** Tracked stock consumed per unit sold: index into the merchant's tracked skus → units. */
  consumes: [number, number][];
}

export interface TrackedSku {
  sku: string;
  item_kind: 'product' | 'raw_material';
}

export interface StoreSpec {
  id: string;
  name: string;
  city: string;
  region: string;
  country: string;
  time_zone: string;
  /** Whether the dimensions file names the time zone (otherwise it defaults to the merchant's). */
  explicitZone: boolean;
  /** Relative demand: Zipf over stores, so the largest fifth carries most orders. */
  weight: number;
}

export interface ChannelMix {
  pos: number;
  online: number;
  marketplace: number;
}

export interface PromotionSpec {
  promo_id: string;
  kind: PromotionKind;
  name: string;
  /** Offsets from the start of the generated span, in hours. */
  startHour: number;
  durationHours: number;
  /** Store indexes the promotion runs in; empty means all stores. */
  stores: number[];
  /** Category whose lines get the price reduction (price_reduction), or none. */
  category?: string;
  /** Fractional discount (price_reduction on lines; coupon on the order). */
  discount: number;
  /** Demand multiplier inside the window at covered stores. */
  lift: number;
}

export interface MerchantSpec {
  id: string;
  name: string;
  profile: Profile;
  time_zone: string;
  currency: string;
  country: string;
  /** Site origin for page views and online orders, e.g. https://order.pizzaroma.example */
  origin: string;
  stores: StoreSpec[];
  catalog: CatalogItem[];
  tracked: TrackedSku[];
  channels: ChannelMix;
  promotions: PromotionSpec[];
  /** Share of web-browsing filler traffic. */
  webWeight: number;
  deliveryPartners: string[];
  /** Countries visitors come from (web shop ships abroad). */
  visitorCountries: string[];
}

// ---------------------------------------------------------------- rhythms (local time)

/** Demand by local hour 0-23 and by weekday (0 = Sunday); normalized later so the weekly mean is 1. */
const RHYTHMS: Record<Profile, { hours: number[]; days: number[] }> = {
  pizza: {
    //      0    1    2  3  4  5  6  7  8    9    10   11   12   13   14   15   16   17   18   19   20   21   22   23
    hours: [0.2, 0.05, 0, 0, 0, 0, 0, 0, 0, 0, 0.1, 0.5, 1.7, 1.4, 0.6, 0.35, 0.45, 1.0, 1.9, 2.3, 1.8, 1.1, 0.6, 0.35],
    days: [1.1, 0.8, 0.85, 0.9, 0.95, 1.3, 1.45],
  },
  retail: {
    hours: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.9, 1.2, 1.4, 1.3, 1.0, 1.0, 1.2, 1.6, 1.7, 1.3, 0.6, 0, 0, 0],
    days: [0.05, 0.9, 0.9, 0.95, 1.0, 1.25, 1.6],
  },
  webshop: {
    hours: [0.35, 0.2, 0.12, 0.08, 0.07, 0.08, 0.15, 0.3, 0.5, 0.6, 0.7, 0.8, 0.95, 0.9, 0.8, 0.8, 0.85, 0.95, 1.1, 1.35, 1.6, 1.65, 1.3, 0.8],
    days: [1.25, 1.05, 1.0, 0.95, 0.95, 0.85, 0.9],
  },
  cafe: {
    hours: [0, 0, 0, 0, 0, 0, 0.2, 1.2, 2.0, 1.6, 1.1, 0.9, 1.3, 1.1, 0.8, 0.9, 0.7, 0.4, 0.1, 0, 0, 0, 0, 0],
    days: [0.8, 1.05, 1.0, 1.0, 1.05, 1.1, 1.0],
  },
};

/** rhythm[profile][weekday * 24 + hour], with a weekly mean of 1 so profiles are comparable. */
export const RHYTHM: Record<Profile, Float64Array> = Object.fromEntries(
  (Object.keys(RHYTHMS) as Profile[]).map((p) => {
    const { hours, days } = RHYTHMS[p];
    const out = new Float64Array(168);
    let sum = 0;
    for (let d = 0; d < 7; d++) for (let h = 0; h < 24; h++) sum += out[d * 24 + h] = (days[d] ?? 0) * (hours[h] ?? 0);
    for (let i = 0; i < 168; i++) out[i] = (out[i] as number) * (168 / sum);
    return [p, out];
  }),
) as Record<Profile, Float64Array>;

// ---------------------------------------------------------------- places

interface Place {
  city: string;
  region: string;
  country: string;
  tz: string;
  stores: number;
}

const PIZZA_PLACES: Place[] = [
  { city: 'New York', region: 'NY', country: 'US', tz: 'America/New_York', stores: 4 },
  { city: 'Boston', region: 'MA', country: 'US', tz: 'America/New_York', stores: 2 },
  { city: 'Philadelphia', region: 'PA', country: 'US', tz: 'America/New_York', stores: 1 },
  { city: 'Washington', region: 'DC', country: 'US', tz: 'America/New_York', stores: 1 },
  { city: 'Miami', region: 'FL', country: 'US', tz: 'America/New_York', stores: 1 },
  { city: 'Atlanta', region: 'GA', country: 'US', tz: 'America/New_York', stores: 1 },
  { city: 'Chicago', region: 'IL', country: 'US', tz: 'America/Chicago', stores: 2 },
  { city: 'Houston', region: 'TX', country: 'US', tz: 'America/Chicago', stores: 1 },
  { city: 'Dallas', region: 'TX', country: 'US', tz: 'America/Chicago', stores: 1 },
  { city: 'Denver', region: 'CO', country: 'US', tz: 'America/Denver', stores: 1 },
  { city: 'Phoenix', region: 'AZ', country: 'US', tz: 'America/Phoenix', stores: 1 },
  { city: 'Los Angeles', region: 'CA', country: 'US', tz: 'America/Los_Angeles', stores: 3 },
  { city: 'San Francisco', region: 'CA', country: 'US', tz: 'America/Los_Angeles', stores: 2 },
  { city: 'San Diego', region: 'CA', country: 'US', tz: 'America/Los_Angeles', stores: 1 },
  { city: 'Seattle', region: 'WA', country: 'US', tz: 'America/Los_Angeles', stores: 1 },
  { city: 'Toronto', region: 'ON', country: 'CA', tz: 'America/Toronto', stores: 1 },
  { city: "St. John's", region: 'NL', country: 'CA', tz: 'America/St_Johns', stores: 1 },
  { city: 'London', region: 'England', country: 'GB', tz: 'Europe/London', stores: 3 },
  { city: 'Manchester', region: 'England', country: 'GB', tz: 'Europe/London', stores: 1 },
  { city: 'Berlin', region: 'Berlin', country: 'DE', tz: 'Europe/Berlin', stores: 2 },
  { city: 'Munich', region: 'Bavaria', country: 'DE', tz: 'Europe/Berlin', stores: 1 },
  { city: 'Hamburg', region: 'Hamburg', country: 'DE', tz: 'Europe/Berlin', stores: 1 },
  { city: 'Paris', region: 'Île-de-France', country: 'FR', tz: 'Europe/Paris', stores: 2 },
  { city: 'Madrid', region: 'Madrid', country: 'ES', tz: 'Europe/Madrid', stores: 1 },
  { city: 'Barcelona', region: 'Catalonia', country: 'ES', tz: 'Europe/Madrid', stores: 1 },
  { city: 'Rome', region: 'Lazio', country: 'IT', tz: 'Europe/Rome', stores: 1 },
  { city: 'Milan', region: 'Lombardy', country: 'IT', tz: 'Europe/Rome', stores: 1 },
  { city: 'Naples', region: 'Campania', country: 'IT', tz: 'Europe/Rome', stores: 1 },
  { city: 'Amsterdam', region: 'North Holland', country: 'NL', tz: 'Europe/Amsterdam', stores: 1 },
  { city: 'Mumbai', region: 'Maharashtra', country: 'IN', tz: 'Asia/Kolkata', stores: 2 },
  { city: 'Delhi', region: 'Delhi', country: 'IN', tz: 'Asia/Kolkata', stores: 1 },
  { city: 'Bengaluru', region: 'Karnataka', country: 'IN', tz: 'Asia/Kolkata', stores: 1 },
  { city: 'Pune', region: 'Maharashtra', country: 'IN', tz: 'Asia/Kolkata', stores: 1 },
  { city: 'Kathmandu', region: 'Bagmati', country: 'NP', tz: 'Asia/Kathmandu', stores: 1 },
  { city: 'Pokhara', region: 'Gandaki', country: 'NP', tz: 'Asia/Kathmandu', stores: 1 },
  { city: 'Tokyo', region: 'Tokyo', country: 'JP', tz: 'Asia/Tokyo', stores: 1 },
  { city: 'Sydney', region: 'NSW', country: 'AU', tz: 'Australia/Sydney', stores: 1 },
  { city: 'Adelaide', region: 'SA', country: 'AU', tz: 'Australia/Adelaide', stores: 1 },
];

const RETAIL_PLACES: Place[] = [
  { city: 'Berlin', region: 'Berlin', country: 'DE', tz: 'Europe/Berlin', stores: 2 },
  { city: 'Hamburg', region: 'Hamburg', country: 'DE', tz: 'Europe/Berlin', stores: 1 },
  { city: 'Cologne', region: 'North Rhine-Westphalia', country: 'DE', tz: 'Europe/Berlin', stores: 1 },
  { city: 'Frankfurt', region: 'Hesse', country: 'DE', tz: 'Europe/Berlin', stores: 1 },
  { city: 'Stuttgart', region: 'Baden-Württemberg', country: 'DE', tz: 'Europe/Berlin', stores: 1 },
  { city: 'Leipzig', region: 'Saxony', country: 'DE', tz: 'Europe/Berlin', stores: 1 },
  { city: 'Vienna', region: 'Vienna', country: 'AT', tz: 'Europe/Vienna', stores: 2 },
  { city: 'Salzburg', region: 'Salzburg', country: 'AT', tz: 'Europe/Vienna', stores: 1 },
];

/** Locales for generic merchants: zone, currency, minor units per US cent, cities. */
const GENERIC_LOCALES: { tz: string; currency: string; perCent: number; country: string; cities: [string, string][] }[] = [
  { tz: 'America/New_York', currency: 'USD', perCent: 1, country: 'US', cities: [['Brooklyn', 'NY'], ['Newark', 'NJ'], ['Hartford', 'CT']] },
  { tz: 'America/Los_Angeles', currency: 'USD', perCent: 1, country: 'US', cities: [['Portland', 'OR'], ['Oakland', 'CA'], ['Sacramento', 'CA']] },
  { tz: 'Europe/Berlin', currency: 'EUR', perCent: 0.92, country: 'DE', cities: [['Dresden', 'Saxony'], ['Bremen', 'Bremen'], ['Nuremberg', 'Bavaria']] },
  { tz: 'Europe/Paris', currency: 'EUR', perCent: 0.92, country: 'FR', cities: [['Lyon', 'Auvergne-Rhône-Alpes'], ['Lille', 'Hauts-de-France']] },
  { tz: 'Europe/London', currency: 'GBP', perCent: 0.79, country: 'GB', cities: [['Leeds', 'England'], ['Bristol', 'England'], ['Glasgow', 'Scotland']] },
  { tz: 'Europe/Stockholm', currency: 'SEK', perCent: 10.5, country: 'SE', cities: [['Stockholm', 'Stockholm'], ['Malmö', 'Skåne']] },
  { tz: 'Asia/Kolkata', currency: 'INR', perCent: 83, country: 'IN', cities: [['Chennai', 'Tamil Nadu'], ['Hyderabad', 'Telangana'], ['Kochi', 'Kerala']] },
  { tz: 'Asia/Kathmandu', currency: 'NPR', perCent: 133, country: 'NP', cities: [['Lalitpur', 'Bagmati'], ['Bhaktapur', 'Bagmati']] },
  { tz: 'Asia/Tokyo', currency: 'JPY', perCent: 1.5, country: 'JP', cities: [['Osaka', 'Osaka'], ['Kyoto', 'Kyoto']] },
  { tz: 'Australia/Adelaide', currency: 'AUD', perCent: 1.5, country: 'AU', cities: [['Adelaide', 'SA'], ['Mount Gambier', 'SA']] },
];

const CAFE_NAMES = ['Copper Kettle', 'Blue Door', 'Morning Tide', 'Little Fern', 'Juniper', 'Old Mill', 'Harbour Light', 'Brass Bean'];

// ---------------------------------------------------------------- catalogs

type ItemSeed = [sku: string, category: string, slug: string, priceCents: number, weight: number, consumes?: [string, number][]];

const PIZZA_TRACKED: TrackedSku[] = [
  { sku: 'RM-DOUGH', item_kind: 'raw_material' },
  { sku: 'RM-MOZZARELLA', item_kind: 'raw_material' },
  { sku: 'DR-COLA-033', item_kind: 'product' },
];

function pizzaItems(): ItemSeed[] {
  const pizzas: [string, string, number, number][] = [
    ['MARG', 'margherita', 899, 5],
    ['PEPP', 'pepperoni', 1049, 5],
    ['QFOR', 'quattro-formaggi', 1199, 2],
    ['DIAV', 'diavola', 1099, 2],
    ['VEGG', 'veggie', 999, 2],
    ['BBQC', 'bbq-chicken', 1149, 2],
    ['HAWA', 'hawaiian', 1049, 1.5],
  ];
  const sizes: [string, number, number, number][] = [
    ['S', 0.75, 0.2, 1],
    ['M', 1, 0.45, 1],
    ['L', 1.3, 0.35, 2],
  ];
  const out: ItemSeed[] = [];
  for (const [code, slug, price, w] of pizzas) {
    for (const [size, f, sw, dough] of sizes) {
      const cheese: [string, number][] = code === 'VEGG' ? [] : [['RM-MOZZARELLA', dough]];
      out.push([`PZ-${code}-${size}`, 'pizza', `${slug}-${size.toLowerCase()}`, Math.round(price * f), w * sw, [['RM-DOUGH', dough], ['RM-TOMATO-SAUCE', 1], ...cheese]]);
    }
  }
  out.push(
    ['SD-GARLIC-BREAD', 'sides', 'garlic-bread', 499, 3],
    ['SD-WINGS-8', 'sides', 'chicken-wings', 799, 2],
    ['SD-SALAD', 'sides', 'garden-salad', 699, 1],
    ['DR-COLA-033', 'drinks', 'cola-can', 249, 4, [['DR-COLA-033', 1]]],
    ['DR-COLA-150', 'drinks', 'cola-bottle', 399, 2],
    ['DR-WATER-050', 'drinks', 'water', 199, 2, [['DR-WATER-050', 1]]],
    ['DR-BEER-033', 'drinks', 'lager', 499, 1],
    ['DS-TIRAMISU', 'desserts', 'tiramisu', 599, 2],
    ['DS-GELATO', 'desserts', 'gelato', 449, 1],
  );
  return out;
}

function retailItems(): ItemSeed[] {
  const seeds: [string, string, number, number][] = [
    ['grocery', 'coffee-beans-1kg', 1299, 4], ['grocery', 'olive-oil-750ml', 899, 3], ['grocery', 'pasta-500g', 179, 6],
    ['grocery', 'chocolate-bar', 149, 6], ['grocery', 'oat-milk-1l', 229, 5], ['household', 'dish-soap', 249, 3],
    ['household', 'paper-towels-4', 399, 3], ['household', 'led-bulb-e27', 599, 2], ['household', 'storage-box', 999, 1],
    ['electronics', 'usb-c-cable', 1299, 2], ['electronics', 'earbuds', 3999, 1], ['electronics', 'power-bank', 2999, 1],
    ['apparel', 'cotton-socks-3', 999, 3], ['apparel', 'beanie', 1499, 2], ['apparel', 'rain-jacket', 5999, 0.6],
    ['toys', 'puzzle-1000', 1799, 1], ['toys', 'building-blocks', 2499, 0.8], ['stationery', 'notebook-a5', 399, 3],
  ];
  return seeds.map(([cat, slug, price, w], i) => [`BM-${(100200 + i * 7).toString()}`, cat, slug, price, w, [[`BM-${(100200 + i * 7).toString()}`, 1]]]);
}

// Stock is tracked for the lines that sell most; the rest of the range is not counted per store.
const RETAIL_TRACKED: TrackedSku[] = retailItems()
  .filter(([, , , , weight]) => weight >= 3)
  .map(([sku]) => ({ sku, item_kind: 'product' as const }));

function webshopItems(): ItemSeed[] {
  const seeds: [string, string, number, number][] = [
    ['throws', 'wool-throw-grey', 6900, 2], ['throws', 'cotton-throw-ochre', 4500, 2], ['cushions', 'linen-cushion-sage', 2900, 4],
    ['cushions', 'velvet-cushion-rust', 3200, 3], ['bedding', 'duvet-cover-double', 8900, 2], ['bedding', 'pillowcase-pair', 2400, 3],
    ['towels', 'bath-towel-white', 1800, 5], ['towels', 'hand-towel-set', 2200, 3], ['rugs', 'jute-rug-120', 11900, 0.7],
    ['rugs', 'wool-rug-160', 19900, 0.4], ['tableware', 'linen-napkins-4', 2000, 2], ['tableware', 'table-runner', 2600, 1.5],
  ];
  return seeds.map(([cat, slug, price, w]) => {
    const sku = `LM-${slug.toUpperCase()}`;
    return [sku, cat, slug, price, w, [[sku, 1]]];
  });
}

const CAFE_TRACKED: TrackedSku[] = [
  { sku: 'RM-COFFEE-BEANS-G', item_kind: 'raw_material' },
  { sku: 'RM-MILK-ML', item_kind: 'raw_material' },
  { sku: 'BK-CROISSANT', item_kind: 'product' },
];

function cafeItems(): ItemSeed[] {
  return [
    ['CF-ESPRESSO', 'coffee', 'espresso', 280, 3, [['RM-COFFEE-BEANS-G', 9]]],
    ['CF-CAPPUCCINO', 'coffee', 'cappuccino', 390, 5, [['RM-COFFEE-BEANS-G', 9], ['RM-MILK-ML', 150]]],
    ['CF-LATTE', 'coffee', 'latte', 420, 5, [['RM-COFFEE-BEANS-G', 9], ['RM-MILK-ML', 250]]],
    ['CF-TEA', 'tea', 'black-tea', 300, 2],
    ['BK-CROISSANT', 'bakery', 'croissant', 290, 4, [['BK-CROISSANT', 1]]],
    ['BK-MUFFIN', 'bakery', 'blueberry-muffin', 320, 2],
    ['FD-SANDWICH', 'food', 'club-sandwich', 690, 2],
    ['DR-JUICE', 'drinks', 'orange-juice', 350, 1.5],
  ];
}

function buildCatalog(seeds: ItemSeed[], tracked: TrackedSku[], perCent: number): CatalogItem[] {
  const index = new Map(tracked.map((t, i) => [t.sku, i]));
  const round = perCent >= 10 ? 10 : 1;
  return seeds.map(([sku, category, slug, cents, weight, consumes]) => ({
    sku,
    category,
    slug,
    price_minor: Math.max(1, Math.round((cents * perCent) / round) * round),
    weight,
    consumes: (consumes ?? []).flatMap(([t, n]) => (index.has(t) ? [[index.get(t)!, n] as [number, number]] : [])),
  }));
}

const slug = (s: string): string =>
  s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

function placeStores(places: Place[], prefix: string, merchantTz: string): Omit<StoreSpec, 'weight'>[] {
  const out: Omit<StoreSpec, 'weight'>[] = [];
  for (const p of places) {
    for (let i = 1; i <= p.stores; i++) {
      const suffix = p.stores > 1 ? ` ${i}` : '';
      out.push({
        id: `${slug(p.city)}-${i}`,
        name: `${prefix} ${p.city}${suffix}`,
        city: p.city,
        region: p.region,
        country: p.country,
        time_zone: p.tz,
        explicitZone: p.tz !== merchantTz,
      });
    }
  }
  return out;
}

/** Zipf weights (rank^-1.1, jittered), assigned to stores in a seeded random order, scaled to sum to `total`. */
function zipfWeights(rng: Rng, n: number, total: number): number[] {
  const ranks = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [ranks[i], ranks[j]] = [ranks[j] as number, ranks[i] as number];
  }
  const raw = ranks.map((r) => Math.pow(r + 1, -1.1) * rng.range(0.9, 1.1));
  const sum = raw.reduce((s, x) => s + x, 0);
  return raw.map((x) => (x / sum) * total);
}

export interface World {
  merchants: MerchantSpec[];
  fraudIps: string[];
  lowStockThreshold: number;
}

/** Builds the demo world. Depends only on the seed and the number of generic merchants, never on time. */
export function buildWorld(seed: string, genericMerchants: number): World {
  const rng = new Rng(`world:${seed}`);
  const merchants: MerchantSpec[] = [];

  const pizzaStores = placeStores(PIZZA_PLACES, 'Pizzaroma', 'America/New_York');
  const pizzaWeights = zipfWeights(rng, pizzaStores.length, 55);
  const pizzaCatalog = buildCatalog(pizzaItems(), PIZZA_TRACKED, 1);
  const pizzaPick = (share: number): number[] => pizzaStores.flatMap((_, i) => (rng.chance(share) ? [i] : []));
  merchants.push({
    id: 'pizzaroma',
    name: 'Pizzaroma',
    profile: 'pizza',
    time_zone: 'America/New_York',
    currency: 'USD',
    country: 'US',
    origin: 'https://order.pizzaroma.example',
    stores: pizzaStores.map((s, i) => ({ ...s, weight: pizzaWeights[i] as number })),
    catalog: pizzaCatalog,
    tracked: PIZZA_TRACKED,
    channels: { pos: 0.5, online: 0.38, marketplace: 0.12 },
    promotions: [
      { promo_id: 'pz-lunch-display', kind: 'display', name: 'Lunch combo window display', startHour: 12, durationHours: 96, stores: pizzaPick(0.25), discount: 0, lift: 1.1 },
      { promo_id: 'pz-two-for-tuesday', kind: 'price_reduction', name: 'Pizzas 30% off', startHour: 36, durationHours: 48, stores: pizzaPick(0.4), category: 'pizza', discount: 0.3, lift: 1.25 },
      { promo_id: 'pz-weekend-paper', kind: 'newspaper_ad', name: 'Weekend newspaper ad', startHour: 84, durationHours: 48, stores: [], discount: 0, lift: 1.2 },
    ],
    webWeight: 0.5,
    deliveryPartners: ['dashcart', 'biteride'],
    visitorCountries: [],
  });

  const retailStores = placeStores(RETAIL_PLACES, 'Brightmart', 'Europe/Berlin');
  const retailWeights = zipfWeights(rng, retailStores.length, 25);
  merchants.push({
    id: 'brightmart',
    name: 'Brightmart',
    profile: 'retail',
    time_zone: 'Europe/Berlin',
    currency: 'EUR',
    country: 'DE',
    origin: 'https://www.brightmart.example',
    stores: retailStores.map((s, i) => ({ ...s, weight: retailWeights[i] as number })),
    catalog: buildCatalog(retailItems(), RETAIL_TRACKED, 0.92),
    tracked: RETAIL_TRACKED,
    channels: { pos: 0.88, online: 0.12, marketplace: 0 },
    promotions: [
      { promo_id: 'bm-autumn-apparel', kind: 'price_reduction', name: 'Autumn apparel 15% off', startHour: 24, durationHours: 72, stores: retailStores.flatMap((_, i) => (i % 2 === 0 ? [i] : [])), category: 'apparel', discount: 0.15, lift: 1.15 },
      { promo_id: 'bm-weekly-flyer', kind: 'newspaper_ad', name: 'Weekly flyer', startHour: 72, durationHours: 60, stores: [], discount: 0, lift: 1.2 },
    ],
    webWeight: 0.15,
    deliveryPartners: ['parcel-express'],
    visitorCountries: ['DE', 'DE', 'DE', 'AT'],
  });

  const webTracked = webshopItems().map(([sku]) => ({ sku, item_kind: 'product' as const }));
  merchants.push({
    id: 'loomly',
    name: 'Loomly Home',
    profile: 'webshop',
    time_zone: 'Europe/London',
    currency: 'GBP',
    country: 'GB',
    origin: 'https://www.loomly.example',
    stores: [{ id: 'wh-birmingham', name: 'Loomly warehouse Birmingham', city: 'Birmingham', region: 'England', country: 'GB', time_zone: 'Europe/London', explicitZone: false, weight: 12 }],
    catalog: buildCatalog(webshopItems(), webTracked, 0.79),
    tracked: webTracked,
    channels: { pos: 0, online: 1, marketplace: 0 },
    promotions: [{ promo_id: 'lm-welcome10', kind: 'coupon', name: 'Welcome coupon 10% off', startHour: 48, durationHours: 72, stores: [], discount: 0.1, lift: 1.1 }],
    webWeight: 0.3,
    deliveryPartners: ['royal-parcel', 'parcel-express'],
    visitorCountries: ['GB', 'GB', 'GB', 'GB', 'GB', 'GB', 'IE', 'FR', 'DE', 'NL'],
  });

  // Generic merchants share a fixed slice of demand, so adding many of them keeps the named three prominent.
  const genericTotal = genericMerchants > 0 ? 8 * Math.min(1, genericMerchants / 10) : 0;
  const genericStoreCounts = Array.from({ length: genericMerchants }, () => rng.int(1, 4));
  const genericStoreTotal = genericStoreCounts.reduce((s, n) => s + n, 0);
  for (let i = 0; i < genericMerchants; i++) {
    const locale = rng.pick(GENERIC_LOCALES);
    const id = `m-${String(i + 1).padStart(4, '0')}`;
    const name = `${rng.pick(CAFE_NAMES)} Café ${String(i + 1).padStart(4, '0')}`;
    const n = genericStoreCounts[i] as number;
    const stores: StoreSpec[] = [];
    for (let s = 0; s < n; s++) {
      const [city, region] = rng.pick(locale.cities);
      stores.push({
        id: `store-${s + 1}`,
        name: `${name} ${city}`,
        city,
        region,
        country: locale.country,
        time_zone: locale.tz,
        explicitZone: false,
        weight: (genericTotal / genericStoreTotal) * rng.range(0.5, 1.5),
      });
    }
    merchants.push({
      id,
      name,
      profile: 'cafe',
      time_zone: locale.tz,
      currency: locale.currency,
      country: locale.country,
      origin: `https://${id}.shops.example`,
      stores,
      catalog: buildCatalog(cafeItems(), CAFE_TRACKED, locale.perCent),
      tracked: CAFE_TRACKED,
      channels: { pos: 0.85, online: 0.15, marketplace: 0 },
      promotions: i % 3 === 0 ? [{ promo_id: `${id}-coupon`, kind: 'coupon', name: 'Coffee card coupon', startHour: rng.int(6, 60), durationHours: 48, stores: [], discount: 0.1, lift: 1.1 }] : [],
      webWeight: 0.05 / Math.max(1, genericMerchants),
      deliveryPartners: ['courier-now'],
      visitorCountries: [locale.country],
    });
  }

  return {
    merchants,
    fraudIps: ['203.0.113.66', '198.51.100.0/24', '2001:db8:bad::/48'],
    lowStockThreshold: 10,
  };
}

/** The world as a dimensions file (pipeline/contracts/dimensions.ts). */
export function worldDimensions(world: World): DimensionsFile {
  const merchants: MerchantDim[] = world.merchants.map((m) => ({ id: m.id, name: m.name, time_zone: m.time_zone, currency: m.currency }));
  const stores: StoreDim[] = world.merchants.flatMap((m) =>
    m.stores.map((s) => ({
      id: s.id,
      merchant_id: m.id,
      name: s.name,
      city: s.city,
      region: s.region,
      ...(s.explicitZone ? { time_zone: s.time_zone } : {}),
    })),
  );
  return { merchants, stores, fraud_ips: [...world.fraudIps], low_stock_threshold: world.lowStockThreshold };
}
