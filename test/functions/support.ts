// Helpers for the function tests: Pub/Sub deliveries in the three shapes a function accepts
// (wrapped push body, binary CloudEvent, structured CloudEvent), sent through functions-framework's
// test server, plus a logger that keeps what it was told.
import * as functions from '@google-cloud/functions-framework';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import type { Logger } from '../../pipeline/ports.js';

export interface PushMessage {
  data: Buffer;
  attributes: Record<string, string>;
  messageId: string;
  publishTime?: string;
}

export const SUBSCRIPTION = 'projects/tillstream-test/subscriptions/tillstream-events-ingest';
const TOPIC_SOURCE = '//pubsub.googleapis.com/projects/tillstream-test/topics/tillstream-events';

export function pushBody(m: PushMessage, deliveryAttempt?: number) {
  return {
    message: { data: m.data.toString('base64'), attributes: m.attributes, messageId: m.messageId, publishTime: m.publishTime ?? '2026-11-21T12:00:01.000Z' },
    subscription: SUBSCRIPTION,
    ...(deliveryAttempt === undefined ? {} : { deliveryAttempt }),
  };
}

export type Shape = 'push' | 'cloudevent-binary' | 'cloudevent-structured';
export const SHAPES: Shape[] = ['push', 'cloudevent-binary', 'cloudevent-structured'];

/** Registers handlers under unique names; each test server drives one. */
let registered = 0;
export function testServer(handler: HttpFunction) {
  const name = `testFunction${++registered}`;
  functions.http(name, handler);
  return getTestServer(name);
}

export function deliver(server: ReturnType<typeof getTestServer>, shape: Shape, m: PushMessage, deliveryAttempt?: number) {
  const body = pushBody(m, deliveryAttempt);
  const post = request(server).post('/');
  if (shape === 'push') return post.set('content-type', 'application/json').send(body);
  if (shape === 'cloudevent-binary') {
    return post
      .set('content-type', 'application/json')
      .set('ce-specversion', '1.0')
      .set('ce-id', m.messageId)
      .set('ce-type', 'google.cloud.pubsub.topic.v1.messagePublished')
      .set('ce-source', TOPIC_SOURCE)
      .set('ce-time', body.message.publishTime)
      .send(body);
  }
  return post.set('content-type', 'application/cloudevents+json').send(
    JSON.stringify({
      specversion: '1.0',
      id: m.messageId,
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      source: TOPIC_SOURCE,
      time: body.message.publishTime,
      datacontenttype: 'application/json',
      data: body,
    }),
  );
}

export class MemoryLogger implements Logger {
  readonly lines: { level: string; msg: string; obj: object }[] = [];
  private log(level: string, obj: object | string, msg?: string) {
    this.lines.push(typeof obj === 'string' ? { level, msg: obj, obj: {} } : { level, msg: msg ?? '', obj });
  }
  info(obj: object | string, msg?: string) {
    this.log('info', obj, msg);
  }
  warn(obj: object | string, msg?: string) {
    this.log('warn', obj, msg);
  }
  error(obj: object | string, msg?: string) {
    this.log('error', obj, msg);
  }
}
