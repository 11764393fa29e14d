// origin/scan/apps/dotnet.ts: NAME.deps.json, which the .NET SDK writes beside a published app,
// and NuGet's packages.lock.json. No .NET SDK is packaged for Debian, so the fixtures are files
// in the exact shape `dotnet publish` (SDK 8) and `dotnet restore --use-lock-file` write them.
import { describe, expect, it } from 'vitest';
import { dotnetParser } from '../../../origin/scan/apps/dotnet.ts';
import type { FoundPackage } from '../../../origin/scan/inventory.ts';
import type { EntryInfo, ParseOutcome } from '../../../origin/scan/layer/file-parser.ts';

const entry = (path: string): EntryInfo => ({ path, mode: 0o644, size: 1000 });
const parse = (path: string, text: string): Promise<ParseOutcome> =>
  Promise.resolve(dotnetParser.parse(entry(path), Buffer.from(text)));
async function packagesOf(path: string, text: string): Promise<FoundPackage[]> {
  const outcome = await parse(path, text);
  if (!outcome.ok) throw new Error(outcome.warning);
  return outcome.packages;
}

// A self-contained ASP.NET Core app published for linux-x64: the app and a referenced project
// ("project"), NuGet packages ("package"), the runtime pack ("runtimepack").
const WEBAPP_DEPS = `{
  "runtimeTarget": {
    "name": ".NETCoreApp,Version=v8.0/linux-x64",
    "signature": ""
  },
  "compilationOptions": {},
  "targets": {
    ".NETCoreApp,Version=v8.0": {},
    ".NETCoreApp,Version=v8.0/linux-x64": {
      "WebApp/1.0.0": {
        "dependencies": {
          "Microsoft.Data.SqlClient": "5.1.1",
          "Newtonsoft.Json": "13.0.1",
          "Shared": "1.0.0",
          "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64": "8.0.0"
        },
        "runtime": {
          "WebApp.dll": {}
        }
      },
      "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {
        "runtime": {
          "System.Private.CoreLib.dll": {
            "assemblyVersion": "8.0.0.0",
            "fileVersion": "8.0.23.53103"
          }
        }
      },
      "Microsoft.Data.SqlClient/5.1.1": {
        "dependencies": {
          "System.Text.Encodings.Web": "4.7.2"
        },
        "runtime": {
          "lib/net6.0/Microsoft.Data.SqlClient.dll": {
            "assemblyVersion": "5.0.0.0",
            "fileVersion": "5.11.23143.1"
          }
        }
      },
      "Newtonsoft.Json/13.0.1": {
        "runtime": {
          "lib/netstandard2.0/Newtonsoft.Json.dll": {
            "assemblyVersion": "13.0.0.0",
            "fileVersion": "13.0.1.25517"
          }
        }
      },
      "System.Text.Encodings.Web/4.7.2": {},
      "Shared/1.0.0": {
        "runtime": {
          "Shared.dll": {}
        }
      }
    }
  },
  "libraries": {
    "WebApp/1.0.0": {
      "type": "project",
      "serviceable": false,
      "sha512": ""
    },
    "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {
      "type": "runtimepack",
      "serviceable": false,
      "sha512": ""
    },
    "Microsoft.Data.SqlClient/5.1.1": {
      "type": "package",
      "serviceable": true,
      "sha512": "sha512-FTkCnHBwqUtzbbfiZKpvXIlfaIy0X8PexRPq7i7TBuP3uS0SnoLDaEHQ39zb/s8EsQkNCq0VVGdBpyuK3xTnIQ==",
      "path": "microsoft.data.sqlclient/5.1.1",
      "hashPath": "microsoft.data.sqlclient.5.1.1.nupkg.sha512"
    },
    "Newtonsoft.Json/13.0.1": {
      "type": "package",
      "serviceable": true,
      "sha512": "sha512-ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A==",
      "path": "newtonsoft.json/13.0.1",
      "hashPath": "newtonsoft.json.13.0.1.nupkg.sha512"
    },
    "System.Text.Encodings.Web/4.7.2": {
      "type": "package",
      "serviceable": true,
      "sha512": "sha512-iTUgB/WtrZ1sWZs84F2hwyQhiRH6QNjQv2DkwrH+WP6RoFga2Q1m3f9/Q7FG8cck8AdHitQkmkXSY8qylcDmuA==",
      "path": "system.text.encodings.web/4.7.2",
      "hashPath": "system.text.encodings.web.4.7.2.nupkg.sha512"
    },
    "Shared/1.0.0": {
      "type": "project",
      "serviceable": false,
      "sha512": ""
    }
  }
}`;

// NuGet's lock file, version 1, for a project targeting net8.0 with a RuntimeIdentifier.
const PACKAGES_LOCK = `{
  "version": 1,
  "dependencies": {
    "net8.0": {
      "Newtonsoft.Json": {
        "type": "Direct",
        "requested": "[13.0.1, )",
        "resolved": "13.0.1",
        "contentHash": "ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A=="
      },
      "Serilog": {
        "type": "CentralTransitive",
        "requested": "[3.1.1, )",
        "resolved": "3.1.1",
        "contentHash": "P6G4/4Kt9bT635bhuwdXlJ2SCqqn2nhh4gqFqQueCOr9bK/e7W9ll/IoX1Ter948cV2Z/5+5v8pAfJYUISY03A=="
      },
      "System.Text.Encodings.Web": {
        "type": "Transitive",
        "resolved": "4.7.2",
        "contentHash": "iTUgB/WtrZ1sWZs84F2hwyQhiRH6QNjQv2DkwrH+WP6RoFga2Q1m3f9/Q7FG8cck8AdHitQkmkXSY8qylcDmuA=="
      },
      "shared": {
        "type": "Project",
        "dependencies": {
          "Newtonsoft.Json": "[13.0.1, )"
        }
      }
    },
    "net8.0/linux-x64": {
      "System.Text.Encodings.Web": {
        "type": "Transitive",
        "resolved": "4.7.2",
        "contentHash": "iTUgB/WtrZ1sWZs84F2hwyQhiRH6QNjQv2DkwrH+WP6RoFga2Q1m3f9/Q7FG8cck8AdHitQkmkXSY8qylcDmuA=="
      }
    }
  }
}`;

describe('.NET packages', () => {
  it('deps.json names the NuGet packages an app loads, not its own projects or the runtime pack', async () => {
    expect(await packagesOf('app/WebApp.deps.json', WEBAPP_DEPS)).toEqual([
      { kind: 'nuget', name: 'Microsoft.Data.SqlClient', version: '5.1.1' },
      { kind: 'nuget', name: 'Newtonsoft.Json', version: '13.0.1' },
      { kind: 'nuget', name: 'System.Text.Encodings.Web', version: '4.7.2' },
    ]);
  });

  it('packages.lock.json names each resolved package once across target frameworks, not project references', async () => {
    expect(await packagesOf('src/WebApp/packages.lock.json', PACKAGES_LOCK)).toEqual([
      { kind: 'nuget', name: 'Newtonsoft.Json', version: '13.0.1', declared: true },
      { kind: 'nuget', name: 'Serilog', version: '3.1.1', declared: true },
      { kind: 'nuget', name: 'System.Text.Encodings.Web', version: '4.7.2', declared: true },
    ]);
  });

  it('wants deps.json files and project lock files only', () => {
    const wants = (path: string) => dotnetParser.wants(entry(path));
    expect(wants('app/WebApp.deps.json')).toBe(true);
    expect(wants('usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json')).toBe(
      true,
    );
    expect(wants('src/WebApp/packages.lock.json')).toBe(true);
    expect(wants('app/WebApp.runtimeconfig.json')).toBe(false);
    expect(wants('app/node_modules/x/packages.lock.json')).toBe(false);
  });

  it('hostile and odd files are reported, never thrown', async () => {
    expect(await parse('app/A.deps.json', WEBAPP_DEPS.slice(0, 900))).toMatchObject({ ok: false });
    expect(await parse('app/A.deps.json', '{"libraries": []}')).toEqual({
      ok: false,
      warning: 'app/A.deps.json: no "libraries" object; not a deps.json',
    });
    expect(
      await parse(
        'app/A.deps.json',
        JSON.stringify({
          libraries: {
            NoVersion: { type: 'package' },
            'A/': { type: 'package' },
            'B/1.0': 'x',
            'C/2.0': { type: 'package' },
          },
        }),
      ),
    ).toEqual({
      ok: true,
      packages: [{ kind: 'nuget', name: 'C', version: '2.0' }],
      warnings: ['app/A.deps.json: 2 libraries not named "Name/Version"; not read'],
    });
    expect(await parse('x/packages.lock.json', '{"version": 3, "dependencies": {}}')).toEqual({
      ok: false,
      warning: 'x/packages.lock.json: NuGet lock file version 3 is not read (1 and 2 are)',
    });
    expect(await parse('x/packages.lock.json', '{"version": 1, "dependencies": []}')).toMatchObject({
      ok: false,
    });
    expect(
      await parse(
        'x/packages.lock.json',
        JSON.stringify({
          version: 2,
          dependencies: { 'net8.0': { A: { type: 'Direct', resolved: 13 } }, 'net6.0': 'x' },
        }),
      ),
    ).toEqual({
      ok: true,
      packages: [],
      warnings: ['x/packages.lock.json: 2 entries without a resolved version not read'],
    });
  });
});
