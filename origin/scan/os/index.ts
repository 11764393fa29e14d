// The parsers of OS package databases, in the order the layer walker offers files to them.
import type { FileParser } from '../layer/file-parser.ts';
import { apkParser } from './apk.ts';
import { dpkgParser } from './dpkg.ts';
import { rpmLegacyDbParser, rpmParser } from './rpm.ts';

export const osPackageParsers: FileParser[] = [dpkgParser, apkParser, rpmParser, rpmLegacyDbParser];
