/** SCF entry point: built once per instance at cold start (handler.ts has the wiring). */
import { createHandler } from './handler';

/** What SCF calls for each event (the handler named in serverless.yml). */
export const main_handler = createHandler(process.env);
