// The parsers of application packages (language ecosystems), for the layer walker.
import type { FileParser } from '../layer/file-parser.ts';
import { goBinaryParser } from './go-binary.ts';
import { javaParser } from './java.ts';
import { npmParser } from './npm.ts';
import { pythonParser } from './python.ts';

// The walker gives a file to the first parser that wants it. The Go parser wants every
// executable, so it comes last: a jar or package.json with the x bit goes to its own parser.
export const appPackageParsers: FileParser[] = [npmParser, pythonParser, javaParser, goBinaryParser];
