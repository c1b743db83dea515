#!/usr/bin/env node
/**
 * Adds the other platforms' optional packages (biome, esbuild, rollup, node-llama-cpp binaries, ...)
 * that this npm leaves out of package-lock.json, so that `npm ci` accepts the lockfile on any machine
 * (npm/cli#4828, #8320). Run after changing dependencies: `node scripts/complete-lockfile.mjs`.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const lockPath = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const pkgs = lock.packages;
let added = 0;

/** Where npm would place `name` for a dependent at `parentPath` (nearest node_modules upward). */
function locate(parentPath, name) {
  let base = parentPath;
  while (true) {
    const candidate = `${base ? `${base}/` : ""}node_modules/${name}`;
    if (pkgs[candidate]) return { path: candidate, present: true };
    if (!base) return { path: `node_modules/${name}`, present: false };
    const i = base.lastIndexOf("/node_modules/");
    base = i < 0 ? "" : base.slice(0, i);
  }
}

/** The registry's metadata, or undefined when the registry does not have the package. */
function registryMeta(name, spec) {
  try {
    const info = JSON.parse(
      execFileSync("npm", ["view", `${name}@${spec}`, "--json"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }),
    );
    return Array.isArray(info) ? info[info.length - 1] : info;
  } catch {
    return undefined;
  }
}

/**
 * Some registries (like this workplace's mirror) only carry the packages for their own platform.
 * Platform packages are named after their os/cpu/libc, which is all npm needs to skip them.
 */
function platformFromName(name, spec) {
  const base = name.split("/").pop();
  const osNames = {
    android: "android",
    darwin: "darwin",
    mac: "darwin",
    win32: "win32",
    win: "win32",
    linux: "linux",
    freebsd: "freebsd",
    openbsd: "openbsd",
    netbsd: "netbsd",
    sunos: "sunos",
    aix: "aix",
    openharmony: "openharmony",
  };
  const cpus = [
    "arm64",
    "x64",
    "ia32",
    "arm",
    "riscv64",
    "ppc64",
    "s390x",
    "loong64",
    "mips64el",
    "ppc64le",
    "wasm32",
    "armv7",
  ];
  const parts = base.split("-");
  const os = parts.map((p) => osNames[p]).find(Boolean);
  const cpuPart = parts.find((p) => cpus.includes(p));
  if (!os) throw new Error(`${name}: not in the registry and no platform in its name; add it by hand`);
  const cpu = cpuPart === "armv7" ? "arm" : cpuPart;
  return {
    version: spec.replace(/^[\^~=]/, ""),
    os: [os],
    ...(cpu ? { cpu: [cpu] } : {}),
    ...(parts.includes("musl") ? { libc: ["musl"] } : parts.includes("gnu") ? { libc: ["glibc"] } : {}),
  };
}

for (const [parentPath, entry] of Object.entries({ ...pkgs })) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const where = locate(parentPath, name);
    if (where.present) continue;
    const meta = registryMeta(name, spec) ?? platformFromName(name, spec);
    pkgs[where.path] = {
      version: meta.version,
      ...(meta.dist?.integrity ? { integrity: meta.dist.integrity } : {}),
      ...(meta.cpu ? { cpu: meta.cpu } : {}),
      ...(meta.engines ? { engines: meta.engines } : {}),
      ...(meta.libc ? { libc: meta.libc } : {}),
      ...(meta.license ? { license: meta.license } : {}),
      optional: true,
      ...(meta.os ? { os: meta.os } : {}),
      ...(entry.dev ? { dev: true } : {}),
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} optional platform packages to package-lock.json`);
