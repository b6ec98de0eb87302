// What the k6 stand-in modules record: the k6 scripts run under vitest (never under k6 here), with
// these in place of k6's own modules, so a test can see the requests and metrics they make.
export interface Post {
  url: string;
  filename: string;
  bytes: number;
  fields: Record<string, unknown>;
  headers: Record<string, string>;
  timeout: string | undefined;
}

function makeState() {
  return {
    iterationInTest: 0,
    posts: [] as Post[],
    metrics: [] as { name: string; value: number; tags: Record<string, string> | undefined }[],
    /** the answer http.post returns */
    answer: (post: Post) => ({ status: 200, pool: post.headers['X-AudioDecode-Pool'] ?? 'gpu', body: { text: 'ok', duration: 10, rtf: 20 } as Record<string, unknown> }),
    reset() {
      this.iterationInTest = 0;
      this.posts = [];
      this.metrics = [];
    },
  };
}

// on globalThis: vi.resetModules() gives each fresh import of a k6 script new stub modules, and
// they must all record into the one state the test reads
const g = globalThis as unknown as { __k6State?: ReturnType<typeof makeState> };
export const k6State = (g.__k6State ??= makeState());
