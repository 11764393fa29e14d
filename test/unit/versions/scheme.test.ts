// OSV ecosystem names map to the version scheme their packages order by.

import { describe, expect, it } from 'vitest';
import { schemeFor } from '../../../origin/scan/versions/index.ts';

describe('schemeFor maps OSV ecosystems to version schemes', () => {
  it.each([
    ['Debian', 'dpkg'],
    ['Debian:12', 'dpkg'],
    ['Ubuntu', 'dpkg'],
    ['Ubuntu:22.04', 'dpkg'],
    ['Ubuntu:22.04:LTS', 'dpkg'],
    ['Ubuntu:Pro:18.04:LTS', 'dpkg'],
    ['Alpine', 'apk'],
    ['Alpine:v3.18', 'apk'],
    ['Red Hat', 'rpm'],
    ['Red Hat:enterprise_linux:9::baseos', 'rpm'],
    ['Rocky Linux', 'rpm'],
    ['Rocky Linux:9', 'rpm'],
    ['AlmaLinux', 'rpm'],
    ['AlmaLinux:8', 'rpm'],
    ['openSUSE', 'rpm'],
    ['openSUSE:Leap 15.5', 'rpm'],
    ['SUSE', 'rpm'],
    ['SUSE:Linux Enterprise Server 15 SP5', 'rpm'],
    ['Mageia', 'rpm'],
    ['Mageia:9', 'rpm'],
    ['openEuler', 'rpm'],
    ['openEuler:22.03-LTS', 'rpm'],
    ['npm', 'semver'],
    ['Go', 'go'],
    ['PyPI', 'pep440'],
    ['Maven', 'maven'],
    ['RubyGems', 'rubygems'],
    ['NuGet', 'nuget'],
    ['Packagist', 'composer'],
  ])('%s orders by %s', (ecosystem, scheme) => expect(schemeFor(ecosystem)).toBe(scheme));

  it.each([
    'crates.io',
    'Hex',
    'Pub',
    'GitHub Actions',
    'debian',
    'NPM',
    'pypi',
    '',
    'constructor',
    'toString',
    '__proto__',
  ])('knows no scheme for %j', (ecosystem) => expect(schemeFor(ecosystem)).toBeUndefined());
});
