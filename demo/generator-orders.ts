// Orders (online, POS, marketplace, refunds) and the web sessions around them, for the demo workload
// generator (demo/generator.ts).
import { Rng } from './random.js';
import { type CatalogItem } from './world.js';
import { GeneratorBase, BOT_SESSION_SHARE, BOT_USER_AGENTS, DAY, FRAUD_SHARE, HOUR, IP_PREFIXES, MINUTE, REFERRERS, SECOND, UA_WEIGHTS, USER_AGENTS, isoMs, isoSec, type LineItemOut, type MerchantState, type StoreState, type Visitor } from './generator-base.js';

export abstract class OrderAndWebGenerator extends GeneratorBase {
  /** Adds a POS entry to its store's open 15-minute batch (demo/generator.ts). */
  protected abstract posEvent(s: StoreState, ts: number, line: string): void;

  // ------------------------------------------------------------ orders

  protected basket(m: MerchantState, rng: Rng = this.rng): LineItemOut[] {
    const lines = new Map<string, LineItemOut>();
    const add = (item: CatalogItem, qty: number): void => {
      const existing = lines.get(item.sku);
      if (existing) existing.quantity += qty;
      else lines.set(item.sku, { sku: item.sku, category: item.category, quantity: qty, unit_price_minor: item.price_minor, discount_minor: 0 });
    };
    const catalog = m.spec.catalog;
    const byCategory = (cat: string): CatalogItem => {
      const c = m.byCategory.get(cat)!;
      return c.items[rng.weightedIndex(c.weights)]!;
    };
    switch (m.spec.profile) {
      case 'pizza': {
        const pizzas = rng.pick([1, 1, 1, 1, 2, 2, 2, 3, 3, 4]);
        for (let i = 0; i < pizzas; i++) add(byCategory('pizza'), 1);
        if (rng.chance(0.4)) add(byCategory('sides'), 1);
        if (rng.chance(0.6)) add(byCategory('drinks'), rng.int(1, 3));
        if (rng.chance(0.2)) add(byCategory('desserts'), rng.int(1, 2));
        break;
      }
      case 'retail': {
        const n = rng.pick([1, 1, 2, 2, 3, 3, 4, 5, 6, 8]);
        for (let i = 0; i < n; i++) {
          const it = catalog[rng.weightedIndex(m.itemWeights)] as CatalogItem;
          add(it, it.category === 'grocery' ? rng.int(1, 4) : rng.chance(0.8) ? 1 : 2);
        }
        break;
      }
      case 'webshop': {
        const n = rng.pick([1, 1, 1, 2, 2, 3]);
        for (let i = 0; i < n; i++) add(catalog[rng.weightedIndex(m.itemWeights)] as CatalogItem, rng.chance(0.85) ? 1 : 2);
        break;
      }
      case 'cafe': {
        const n = rng.pick([1, 1, 2, 2, 3]);
        for (let i = 0; i < n; i++) add(catalog[rng.weightedIndex(m.itemWeights)] as CatalogItem, 1);
        break;
      }
    }
    return [...lines.values()];
  }

  /** Applies running promotions to a basket; returns promo ids and the order-level discount. */
  protected applyPromotions(s: StoreState, ts: number, lines: LineItemOut[], gross: number): { promoIds: string[]; orderDiscount: number } {
    const promoIds: string[] = [];
    let orderDiscount = 0;
    for (const p of s.merchant.promotions) {
      if (!this.promoCovers(p, s.storeIndex, ts)) continue;
      if (p.kind === 'price_reduction' && p.category && this.rng.chance(0.7)) {
        let used = false;
        for (const li of lines) {
          if (li.category !== p.category) continue;
          li.discount_minor += Math.round(li.quantity * li.unit_price_minor * p.discount);
          used = true;
        }
        if (used) promoIds.push(p.promo_id);
      } else if (p.kind === 'coupon' && this.rng.chance(0.3)) {
        orderDiscount += Math.round(gross * p.discount);
        promoIds.push(p.promo_id);
      }
    }
    return { promoIds, orderDiscount };
  }

  protected visitor(m: MerchantState, country: string): Visitor {
    if (m.visitors.length > 0 && this.rng.chance(0.35)) return this.rng.pick(m.visitors);
    const ua = USER_AGENTS[this.rng.weightedIndex(UA_WEIGHTS)]!;
    const v: Visitor = { id: `v-${this.rng.hex(8)}`, ua: ua.ua, device: ua.device, country, ip: this.clientIp(country) };
    if (m.visitors.length < 20_000) m.visitors.push(v);
    else m.visitors[this.rng.int(0, m.visitors.length - 1)] = v;
    return v;
  }

  protected clientIp(country: string): string {
    const rng = this.rng;
    if (rng.chance(0.1)) {
      let block = rng.int(0x1000, 0xfffe);
      if (block === 0x0bad) block++;
      return `2001:db8:${block.toString(16)}:${rng.int(1, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`;
    }
    const prefixes = IP_PREFIXES[country] ?? IP_PREFIXES.US!;
    return `${rng.pick(prefixes)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  }

  protected fraudIp(): string {
    const k = this.rng.int(0, 2);
    if (k === 0) return '203.0.113.66';
    if (k === 1) return `198.51.100.${this.rng.int(1, 254)}`;
    return `2001:db8:bad::${this.rng.int(1, 0xffff).toString(16)}`;
  }

  protected order(s: StoreState, ts: number): void {
    const m = this.merchants[s.merchantIndex]!;
    const ch = m.spec.channels;
    const r = this.rng.next();
    this.orders++;
    if (r < ch.pos) this.posOrder(s, m, ts);
    else if (r < ch.pos + ch.online) this.onlineOrder(s, m, ts);
    else this.marketplaceOrder(s, m, ts);
  }

  protected orderBody(
    s: StoreState,
    m: MerchantState,
    ts: number,
    fields: { channel: string; fulfilment: string; delivery_partner?: string; client_ip?: string; visitor_id?: string; session_id?: string },
    lines = this.basket(m),
  ): { body: Record<string, unknown>; net: number; lines: LineItemOut[] } {
    let gross = 0;
    for (const li of lines) gross += li.quantity * li.unit_price_minor;
    const { promoIds, orderDiscount } = this.applyPromotions(s, ts, lines, gross);
    let discount = orderDiscount;
    for (const li of lines) discount += li.discount_minor;
    const body: Record<string, unknown> = {
      order_id: `${m.orderPrefix}-${String(++m.orderSeq).padStart(7, '0')}`,
      status: 'completed',
      channel: fields.channel,
      fulfilment: fields.fulfilment,
    };
    if (fields.delivery_partner) body.delivery_partner = fields.delivery_partner;
    body.currency = m.spec.currency;
    body.line_items = lines;
    body.gross_minor = gross;
    body.discount_minor = discount;
    body.net_minor = gross - discount;
    body.refund_minor = 0;
    body.promo_ids = promoIds;
    if (fields.client_ip) body.client_ip = fields.client_ip;
    if (fields.visitor_id) body.visitor_id = fields.visitor_id;
    if (fields.session_id) body.session_id = fields.session_id;
    return { body, net: gross - discount, lines };
  }

  protected consume(s: StoreState, lines: LineItemOut[]): void {
    s.ordersSinceMoves++;
    const bySku = this.merchants[s.merchantIndex]!.itemBySku;
    for (const li of lines) {
      const item = bySku.get(li.sku);
      if (!item) continue;
      for (const [t, n] of item.consumes) s.used[t] = (s.used[t] as number) + n * li.quantity;
    }
  }

  protected posOrder(s: StoreState, m: MerchantState, ts: number): void {
    const profile = m.spec.profile;
    let channel = 'pos';
    let fulfilment = 'pickup';
    if (profile === 'pizza') {
      const r = this.rng.next();
      if (r < 0.12) {
        channel = 'phone';
        fulfilment = this.rng.chance(0.6) ? 'delivery' : 'pickup';
      } else fulfilment = r < 0.6 ? 'dine_in' : 'pickup';
    } else if (profile === 'cafe') fulfilment = this.rng.chance(0.6) ? 'dine_in' : 'pickup';
    const { body, net, lines } = this.orderBody(s, m, ts, { channel, fulfilment, ...(fulfilment === 'delivery' ? { delivery_partner: 'in_house' } : {}) });
    this.consume(s, lines);
    this.posEvent(s, ts, this.orderLine(s, ts, 'pos', body, true));
    this.maybeRefund(s, m, body, net, ts, 'pos');
  }

  protected orderLine(s: StoreState, ts: number, source: string, body: Record<string, unknown>, localTime: boolean): string {
    const eventTs = localTime ? isoSec(ts, s.offset) : isoMs(ts, 0);
    return `{"event_id":"${this.eventId()}","merchant_id":"${s.merchant.id}","event_type":"order","event_ts":"${eventTs}","source":"${source}","schema_version":1,"store_id":"${s.spec.id}","body":${JSON.stringify(body)}}`;
  }

  protected marketplaceOrder(s: StoreState, m: MerchantState, ts: number): void {
    const partner = this.rng.pick(m.spec.deliveryPartners);
    const { body, net, lines } = this.orderBody(s, m, ts, { channel: 'marketplace', fulfilment: 'delivery', delivery_partner: partner });
    this.consume(s, lines);
    const delay = this.lateDelay(ts);
    this.schedule(ts + delay + this.rng.int(300, 4000), this.orderLine(s, ts, 'server', body, false), 'accepted', delay > 0, 'order', true);
    this.maybeRefund(s, m, body, net, ts + delay, 'server');
  }

  protected onlineOrder(s: StoreState, m: MerchantState, ts: number): void {
    const spec = m.spec;
    if (this.rng.chance(FRAUD_SHARE)) {
      // Card testing from a listed address: no session, no stock moves, no refunds.
      const { body } = this.orderBody(s, m, ts, { channel: 'online', fulfilment: 'delivery', delivery_partner: 'in_house', client_ip: this.fraudIp() });
      this.schedule(ts + this.rng.int(80, 1500), this.orderLine(s, ts, 'online', body, false), 'fraud_ip', false, 'order', true);
      return;
    }
    const country = spec.visitorCountries.length > 0 ? this.rng.pick(spec.visitorCountries) : s.spec.country;
    const v = this.visitor(m, country);
    const lines = this.basket(m);
    const withSession = this.rng.chance(0.9);
    const sessionId = `s-${this.rng.hex(8)}`;
    const delay = this.lateDelay(ts + 15 * MINUTE);
    let t = ts;
    if (withSession) t = this.browse(m, v, sessionId, ts, lines, s, delay);
    const delivery = spec.profile === 'webshop' || this.rng.chance(spec.profile === 'pizza' ? 0.65 : 0.5);
    const { body, net } = this.orderBody(
      s,
      m,
      t,
      {
        channel: 'online',
        fulfilment: delivery ? 'delivery' : 'pickup',
        ...(delivery ? { delivery_partner: spec.profile === 'pizza' ? 'in_house' : this.rng.pick(spec.deliveryPartners) } : {}),
        client_ip: v.ip,
        ...(withSession ? { visitor_id: v.id, session_id: sessionId } : {}),
      },
      lines,
    );
    this.consume(s, lines);
    this.schedule(t + delay + this.rng.int(80, 1500), this.orderLine(s, t, 'online', body, false), 'accepted', delay > 0, 'order', true);
    this.maybeRefund(s, m, body, net, t + delay, 'server');
  }

  protected maybeRefund(s: StoreState, m: MerchantState, body: Record<string, unknown>, net: number, orderRecv: number, source: string): void {
    const r = this.rng.next();
    const channel = body.channel as string;
    let status: 'cancelled' | 'refunded';
    let ts: number;
    let amount = net;
    if (r < 0.02 && channel !== 'pos' && source !== 'pos') {
      status = 'cancelled';
      ts = orderRecv + this.rng.int(2 * MINUTE, 15 * MINUTE);
    } else if (r < 0.05) {
      status = 'refunded';
      const maxDelay = m.spec.profile === 'pizza' || m.spec.profile === 'cafe' ? 6 * HOUR : 2 * DAY;
      ts = orderRecv + this.rng.int(20 * MINUTE, maxDelay);
      const lines = body.line_items as LineItemOut[];
      if (lines.length > 1 && this.rng.chance(0.5)) {
        const li = this.rng.pick(lines);
        amount = li.quantity * li.unit_price_minor - li.discount_minor;
      }
    } else return;
    if (ts > this.anchor || amount <= 0) return;
    const refund: Record<string, unknown> = {
      order_id: body.order_id,
      status,
      channel,
      fulfilment: body.fulfilment,
      currency: body.currency,
      refund_minor: amount,
    };
    if (source === 'pos') this.posEvent(s, ts, this.orderLine(s, ts, 'pos', refund, true));
    else this.schedule(ts + this.rng.int(200, 3000), this.orderLine(s, ts, source, refund, false), 'accepted', false, 'order', true);
  }

  // ------------------------------------------------------------ web sessions

  protected pageView(m: MerchantState, v: Visitor, sessionId: string, ts: number, path: string, title: string, referrer: string, ua = v.ua, device = v.device): string {
    // Written as a template (the hot path of the generator): ids, urls, devices, countries and addresses are made
    // here from a safe charset; free text goes through JSON.stringify.
    return `{"event_id":"${this.eventId()}","merchant_id":"${m.spec.id}","event_type":"page_view","event_ts":"${isoMs(ts, 0)}","source":"web","schema_version":1,"body":{"url":"${m.spec.origin}${path}","referrer":"${referrer}","title":${JSON.stringify(title)},"visitor_id":"${v.id}","session_id":"${sessionId}","device":"${device}","country":"${v.country}","user_agent":${JSON.stringify(ua)},"client_ip":"${v.ip}"}}`;
  }

  protected track(m: MerchantState, v: Visitor, sessionId: string, ts: number, name: string, url: string, properties: Record<string, string | number>): string {
    return `{"event_id":"${this.eventId()}","merchant_id":"${m.spec.id}","event_type":"track","event_ts":"${isoMs(ts, 0)}","source":"web","schema_version":1,"body":{"name":"${name}","url":"${m.spec.origin}${url}","properties":${JSON.stringify(properties)},"visitor_id":"${v.id}","session_id":"${sessionId}","device":"${v.device}","country":"${v.country}","user_agent":${JSON.stringify(v.ua)},"client_ip":"${v.ip}"}}`;
  }

  /**
   * A shopping session ending at checkout (when `lines` is given) or wandering off. Returns the time of the
   * last step; every event is delivered `delay` late (a phone that was offline sends its beacons together).
   */
  protected browse(m: MerchantState, v: Visitor, sessionId: string, start: number, lines: LineItemOut[] | null, s: StoreState | null, delay: number): number {
    const spec = m.spec;
    let t = start;
    let prev = this.rng.pick(REFERRERS);
    const late = delay > 0;
    const visit = (path: string, title: string): void => {
      this.schedule(t + delay + this.rng.int(50, 1500), this.pageView(m, v, sessionId, t, path, title, prev), 'accepted', late, 'page_view', lines !== null);
      prev = `${spec.origin}${path}`;
      t += this.rng.int(8 * SECOND, 75 * SECOND);
    };
    visit('/', spec.name);
    if (spec.profile === 'pizza' && s) visit(`/stores/${s.spec.id}`, `${spec.name} ${s.spec.city}`);
    if (lines) {
      visit(spec.profile === 'pizza' || spec.profile === 'cafe' ? '/menu' : `/c/${lines[0]!.category}`, `${spec.name} – ${spec.profile === 'pizza' ? 'Menu' : 'Shop'}`);
      for (const li of lines.slice(0, 3)) {
        const item = spec.catalog.find((c) => c.sku === li.sku)!;
        visit(`/p/${item.slug}`, `${item.slug.replace(/-/g, ' ')} – ${spec.name}`);
        this.schedule(t + delay + this.rng.int(50, 1500), this.track(m, v, sessionId, t, 'add_to_cart', `/p/${item.slug}`, { sku: li.sku, quantity: li.quantity }), 'accepted', late, 'track', true);
        t += this.rng.int(2 * SECOND, 20 * SECOND);
      }
      visit('/cart', `Cart – ${spec.name}`);
      visit('/checkout', `Checkout – ${spec.name}`);
      this.schedule(t + delay + this.rng.int(50, 1500), this.track(m, v, sessionId, t, 'checkout_started', '/checkout', { items: lines.length }), 'accepted', late, 'track', true);
      t += this.rng.int(20 * SECOND, 90 * SECOND);
    } else {
      const pages = this.rng.pick([0, 0, 1, 1, 2, 3, 4]);
      for (let i = 0; i < pages; i++) {
        const item = this.rng.pick(spec.catalog);
        visit(`/p/${item.slug}`, `${item.slug.replace(/-/g, ' ')} – ${spec.name}`);
      }
    }
    return t;
  }

  protected botVisit(m: MerchantState, ts: number): void {
    const ua = this.rng.pick(BOT_USER_AGENTS);
    const v: Visitor = { id: `v-${this.rng.hex(8)}`, ua, device: 'other', country: 'US', ip: this.clientIp('US') };
    const sessionId = `s-${this.rng.hex(8)}`;
    const pages = this.rng.int(1, 6);
    let t = ts;
    for (let i = 0; i < pages; i++) {
      const path = i === 0 ? '/' : `/p/${this.rng.pick(m.spec.catalog).slug}`;
      this.schedule(t + this.rng.int(50, 800), this.pageView(m, v, sessionId, t, path, m.spec.name, '', ua, 'other'), 'bot', false, 'page_view', false);
      t += this.rng.int(SECOND, 10 * SECOND);
    }
  }

  /** Non-converting browsing (and crawlers) fills regular volume up to its share of the slice. */
  protected browsingFiller(h: number, t0: number, t1: number, last: boolean): void {
    const target = last ? this.baseTarget : Math.floor((this.baseTarget * (this.cumSliceWeight[h] as number)) / (this.cumSliceWeight[this.slices - 1] as number));
    let guard = 0;
    while (this.baseCount < target && guard++ < 1_000_000) {
      const m = this.merchants[this.rng.weightedIndex(this.webWeights)]!;
      const remaining = target - this.baseCount;
      // Near the end, single-page visits land exactly on the total.
      const end = last ? this.anchor - 20 * SECOND : t1;
      const ts = t0 + this.rng.next() * Math.max(0, end - t0 - (remaining < 12 ? 0 : 10 * MINUTE));
      if (remaining < 12) {
        const v = this.visitor(m, this.rng.pick(m.countries));
        this.schedule(Math.max(t0, Math.min(ts + this.rng.int(50, 1500), this.anchor)), this.pageView(m, v, `s-${this.rng.hex(8)}`, ts, '/', m.spec.name, this.rng.pick(REFERRERS)), 'accepted', false, 'page_view', false);
      } else if (this.rng.chance(BOT_SESSION_SHARE)) this.botVisit(m, ts);
      else {
        const v = this.visitor(m, this.rng.pick(m.countries));
        this.browse(m, v, `s-${this.rng.hex(8)}`, ts, null, null, this.lateDelay(ts + 5 * MINUTE));
      }
    }
  }

}
