/**
 * The one error registry: stable codes, HTTP statuses and default messages.
 * docs/api.md lists the same codes; test/unit/errors.test.ts keeps them in sync.
 */
export const ERROR_CODES = {
  UNAUTHORIZED: { status: 401, message: 'missing or invalid API token' },
  NOT_FOUND: { status: 404, message: 'no such resource' },
  TITLE_NOT_FOUND: { status: 404, message: 'no such title' },
  JOB_NOT_FOUND: { status: 404, message: 'no such job' },
  RENDITION_NOT_FOUND: { status: 404, message: 'no such rendition' },
  SEGMENT_NOT_FOUND: { status: 404, message: 'no such segment' },
  INVALID_ID: { status: 400, message: 'ids are 1-128 characters of A-Z a-z 0-9 . _ - and start with a letter or digit' },
  INVALID_REQUEST: { status: 400, message: 'invalid request' },
  INVALID_LADDER: { status: 400, message: 'invalid ladder' },
  INVALID_RANGE: { status: 416, message: 'range not satisfiable' },
  URI_TOO_LONG: { status: 414, message: 'a path element is too long' },
  TOKEN_REQUIRED: { status: 403, message: 'this playback URL needs a token' },
  TOKEN_INVALID: { status: 403, message: 'playback token is not valid for this URL' },
  TOKEN_EXPIRED: { status: 403, message: 'playback token expired' },
  SHIELD_REQUIRED: { status: 403, message: 'this origin answers only its CDN' },
  SIGNING_NOT_CONFIGURED: { status: 409, message: 'no signing keys are configured' },
  UPLOAD_TOO_LARGE: { status: 413, message: 'upload exceeds the size limit' },
  UPLOAD_INCOMPLETE: { status: 400, message: 'upload ended before Content-Length bytes arrived' },
  UPLOAD_STALLED: { status: 408, message: 'the upload stopped sending' },
  JOB_NOT_CANCELABLE: { status: 409, message: 'the job has already ended' },
  CHANNEL_NOT_FOUND: { status: 404, message: 'no such channel' },
  CHANNEL_OFFLINE: { status: 404, message: 'the channel has no media yet: no publisher has sent any' },
  CHANNEL_BUSY: { status: 409, message: 'the channel already has a publisher' },
  CHANNEL_LIMIT: { status: 409, message: 'no ingest port is free for another channel' },
  LIVE_DISABLED: { status: 409, message: 'live ingest is off on this origin (CASCADE_LIVE=off)' },
  LIVE_NOT_YET: { status: 404, message: 'that live object does not exist (yet)' },
  LIVE_BAD_DIRECTIVE: { status: 400, message: 'invalid HLS delivery directive' },
  LIVE_TIMEOUT: { status: 503, message: 'the requested live object did not appear in time' },
  NO_EDGES: { status: 409, message: 'no edges are configured (CASCADE_EDGES)' },
  EDGE_NOT_FOUND: { status: 400, message: 'no edge by that name' },
  PUSH_NOT_FOUND: { status: 404, message: 'no such push' },
  PUSH_NOT_CANCELABLE: { status: 409, message: 'the push has already ended' },
  PUSH_NOTHING_SELECTED: { status: 422, message: 'the push selects no object' },
  PUSH_MISSED: { status: 409, message: 'the push was due while the server was down and its release has passed' },
  PUSH_CANCELED: { status: 409, message: 'the push was canceled' },
  PUSH_EDGE_FAILED: { status: 502, message: 'not every object reached every edge' },
  PUSH_ORIGIN_FAILED: { status: 502, message: 'the origin could not serve an object to push' },
  EDGE_UNREACHABLE: { status: 502, message: 'the edge could not be reached' },
  EDGE_TIMEOUT: { status: 504, message: 'the edge did not answer in time' },
  EDGE_HTTP_ERROR: { status: 502, message: 'the edge answered with an error' },
  EDGE_NOT_CACHED: { status: 502, message: 'the edge served the object but does not hold it in its cache' },
  EDGE_SIZE_MISMATCH: { status: 502, message: 'the edge holds a different number of bytes than the origin serves' },
  ORIGIN_READ_FAILED: { status: 502, message: 'the origin could not serve an object to copy' },
  STORAGE_ERROR: { status: 502, message: 'storage backend failed' },
  STORAGE_TIMEOUT: { status: 504, message: 'storage backend did not answer in time' },
  INSUFFICIENT_STORAGE: { status: 507, message: 'not enough space to store the data' },
  INTERNAL: { status: 500, message: 'internal error' },
  // Job failure codes (reported in Job.error, not as HTTP statuses of the job routes).
  SOURCE_EMPTY: { status: 422, message: 'the uploaded source is empty (0 bytes)' },
  SOURCE_NOT_MEDIA: { status: 422, message: 'the uploaded source is not a media file ffprobe can read' },
  SOURCE_NO_STREAMS: { status: 422, message: 'the uploaded source has neither video nor audio' },
  SOURCE_TRUNCATED: { status: 422, message: 'the uploaded source is truncated or damaged' },
  SOURCE_UNSUPPORTED: { status: 422, message: 'the uploaded source cannot be processed' },
  ENCODE_FAILED: { status: 500, message: 'ffmpeg failed' },
  ENCODE_STALLED: { status: 500, message: 'ffmpeg made no progress and was stopped' },
  PACKAGE_FAILED: { status: 500, message: 'the encoded tracks could not be packaged' },
  PUBLISH_FAILED: { status: 502, message: 'storing the title failed' },
  JOB_INTERRUPTED: { status: 500, message: 'the server stopped while the job ran and the retry budget is spent' },
  JOB_CANCELED: { status: 409, message: 'the job was canceled' },
  // Live input problems (reported in Channel.lastError; publishers are refused at the protocol level).
  LIVE_AUTH_FAILED: { status: 403, message: 'wrong stream key or passphrase' },
  LIVE_INPUT_UNSUPPORTED: { status: 422, message: 'the publisher sends media the live pipeline cannot take' },
  LIVE_ENCODER_FAILED: { status: 500, message: 'the live encoder failed' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CascadeError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? ERROR_CODES[code].message, options);
    this.name = 'CascadeError';
    this.status = ERROR_CODES[code].status;
  }
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export const createError = (code: ErrorCode, message?: string, cause?: unknown): CascadeError => new CascadeError(code, message, { cause });

export const isCascadeError = (e: unknown): e is CascadeError => e instanceof CascadeError;
