// The bodies of admin requests: small JSON documents, checked against a schema; what does not fit
// is answered 400 naming the first field at fault.
import type { z } from 'zod';
import { OciFailure, ociError } from '../../shared/errors.ts';
import { isStorableJson } from '../../shared/storable-text.ts';
import type { AppContext } from './context.ts';
import { readBoundedBody } from './request-body.ts';
import { unwrap } from './respond.ts';

/** Admin bodies are small JSON documents; anything larger is refused before it is read whole. */
const MAX_BODY_BYTES = 64 * 1024;

export async function body<T>(c: AppContext, schema: z.ZodType<T>): Promise<T> {
  const bytes = unwrap(await readBoundedBody(c, MAX_BODY_BYTES));
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalid('the body must be JSON');
  }
  // Every admin body is stored.
  if (!isStorableJson(raw)) throw invalid('the body must not hold NUL characters or lone surrogates');
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export const invalid = (message: string) => new OciFailure(ociError('UNSUPPORTED', { status: 400, message }));
