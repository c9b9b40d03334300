/** SCF entry point: built once per instance at cold start (handler.ts has the wiring). */
import { createHandler } from './handler';

export const main_handler = createHandler(process.env);
