// Reading settings from environment variables, with an error that names the variable.
export function envNumber(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw} is not a non-negative number`);
  return value;
}

export function optionalEnvNumber(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return env[name] ? envNumber(name, 0, env) : undefined;
}

export function envChoice<T extends string>(name: string, allowed: readonly T[], fallback: T, env: NodeJS.ProcessEnv = process.env): T {
  const raw = (env[name] || fallback) as T;
  if (!allowed.includes(raw)) throw new Error(`${name}=${raw} must be one of ${allowed.join(', ')}`);
  return raw;
}
