/** SCF entry point: built per instance at cold start, again on new role credentials (handler.ts has the wiring). */
import { createHandler } from './handler';

/** What SCF calls for each event (the handler named in serverless.yml). */
export const main_handler = createHandler(process.env);
