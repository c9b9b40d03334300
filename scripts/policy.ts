/** `npm run policy`: prints deploy/cam-policy.json filled in from .env, ready to paste into CAM. */
import * as fs from 'fs';
import * as path from 'path';
import { readDotenv, renderPolicy, ROOT } from './lib/deploy-config';

const file = fs.existsSync(path.join(ROOT, '.env')) ? path.join(ROOT, '.env') : path.join(ROOT, '.env.example');
if (!file.endsWith('.env')) process.stderr.write('no .env yet: showing the policy for the values in .env.example\n');
process.stdout.write(JSON.stringify(renderPolicy(readDotenv(file)), null, 2) + '\n');
