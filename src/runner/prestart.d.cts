// The types of prestart.cjs (plain CommonJS: bin/bnn-ablate.js loads it before tsx).
import type { ChildProcess } from 'node:child_process';

export function forkWorker(args: string[], env: NodeJS.ProcessEnv): ChildProcess;
export function workerAlive(child: ChildProcess): boolean;
export function endWorker(child: ChildProcess): void;
export function trainsLocally(argv: readonly string[]): boolean;
export function backendValue(argv: readonly string[]): string | undefined;
export function prestartWorker(argv: readonly string[]): void;
export function takePrestarted(): ChildProcess | undefined;
export function releasePrestarted(): void;
