// Reading numbers from environment variables, with an error that names the variable.
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw} is not a non-negative number`);
  return value;
}

export function optionalEnvNumber(name: string): number | undefined {
  return process.env[name] ? envNumber(name, 0) : undefined;
}
