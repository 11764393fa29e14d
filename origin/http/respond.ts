// Where a request ends: a failed Result becomes the OCI error response (via app.onError).
import { OciFailure, type Result } from '../../shared/errors.ts';

export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new OciFailure(result.error);
  return result.value;
}
