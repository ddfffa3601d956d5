# zmq-labs launcher for PowerShell: a thin wrapper over `deno task` (through the lab's
# generated run.ps1).
#   ./run.ps1 -Lab 05                    # the whole demo             (deno task lab05)
#   ./run.ps1 -Lab 05 -Role gateway      # one role, by name or alias (deno task lab05:gateway)
#   ./run.ps1 -Lab 05 -Build             # compile the lab's binaries (deno task build 05)
#   ./run.ps1 -Lab 05 -Role gateway -Build
# Any further arguments pass through to the role or task (e.g. --duration 30s, --help).
# (No Parameter/CmdletBinding attributes: they would make this an advanced script, without $args.)
param(
  [string]$Lab = '',
  [string]$Role = '',
  [switch]$Build
)
$ErrorActionPreference = 'Stop'
if ($Lab -notmatch '^(lab)?\d{1,2}$') {
  [Console]::Error.WriteLine("run.ps1: -Lab expects a lab number like 05, got '$Lab'")
  exit 2
}
$id = ($Lab -replace '^lab', '').PadLeft(2, '0')
$folder = Get-ChildItem -Directory -Path (Join-Path $PSScriptRoot 'labs') -Filter "$id-*" |
  Select-Object -First 1
if (-not $folder) {
  [Console]::Error.WriteLine("run.ps1: no lab $id under labs/ (expected a folder labs/$id-<slug>)")
  exit 2
}
$labScript = Join-Path $folder.FullName 'run.ps1'
if (-not (Test-Path $labScript)) {
  [Console]::Error.WriteLine("run.ps1: $labScript is missing: run 'deno task sync' (lab $id has no manifest yet?)")
  exit 2
}
$params = @{}
if ($Role) { $params['Role'] = $Role }
if ($Build) { $params['Build'] = $true }
& $labScript @params @args
exit $LASTEXITCODE
