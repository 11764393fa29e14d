// The parsers of application packages (language ecosystems), for the layer walker.
import type { FileParser } from '../layer/file-parser.ts';
import { dotnetParser } from './dotnet.ts';
import { goBinaryParser } from './go-binary.ts';
import { javaParser } from './java.ts';
import { npmParser } from './npm.ts';
import { phpParser } from './php.ts';
import { pythonParser } from './python.ts';
import { pythonLockParser } from './python-lock.ts';
import { rubyParser } from './ruby.ts';

// The walker gives a file to the first parser that wants it. The Go parser wants every
// executable, so it comes last: a jar or package.json with the x bit goes to its own parser.
export const appPackageParsers: FileParser[] = [
  npmParser,
  pythonParser,
  pythonLockParser,
  rubyParser,
  phpParser,
  dotnetParser,
  javaParser,
  goBinaryParser,
];
