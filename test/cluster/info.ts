// Shared by the global setup (which must not import vitest) and the test files.

/** The chart's image repository; the node agent runs our code for pods of this image. */
export const IMAGE_REPOSITORY = 'ghcr.io/audiodecode/audiodecode';

export interface ClusterInfo {
  dir: string;
  kubeconfig: string;
  server: string;
  caFile: string;
  stateFile: string;
}
