<#
.SYNOPSIS
Build the standalone Windows application folder (packaging\dist\tracemark) with
PyInstaller from tracemark.spec, then smoke-test a copy of it: the Windows counterpart
of build.sh and smoke_test.sh. Not run yet: no Windows machine was available when it was
written (see README.md, "Windows").

.EXAMPLE
powershell -ExecutionPolicy Bypass -File packaging\build-windows.ps1
packaging\build-windows.ps1 -Python C:\Python311\python.exe -NoSmoke

.NOTES
The build venv (packaging\build\venv, or -Venv) holds the project installed from this
checkout with its runtime dependencies, PyInstaller and Pillow (which turns the icon into
.ico) and nothing else: whatever is importable there may end up in the bundle.
#>
param(
    [string]$Python = "python",
    [string]$Venv = "",
    [switch]$NoSmoke
)
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$here = $PSScriptRoot
$repo = Split-Path $here -Parent
if (-not $Venv) { $Venv = Join-Path $here "build\venv" }
$workpath = Join-Path $here "build\pyinstaller"
$distpath = Join-Path $here "dist"
$venvPython = Join-Path $Venv "Scripts\python.exe"

# Native programs do not stop a script when they fail; this does.
function Invoke-Checked([string]$What, [scriptblock]$Command) {
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "build-windows.ps1: $What failed (exit code $LASTEXITCODE)" }
}

Write-Host "== build venv: $Venv"
if (-not (Test-Path $venvPython)) { Invoke-Checked "creating the venv" { & $Python -m venv $Venv } }
Invoke-Checked "upgrading pip" { & $venvPython -m pip install --quiet --upgrade pip }
Invoke-Checked "installing the project" { & $venvPython -m pip install --quiet ("{0}[package]" -f $repo) pillow }
# A local directory keeps its version number between commits: reinstall it so the bundle
# holds the checkout as it is now.
Invoke-Checked "reinstalling the checkout" { & $venvPython -m pip install --quiet --force-reinstall --no-deps $repo }

Write-Host "== pyinstaller"
# From packaging\, so that the installed tracemark (with its metadata) is what gets
# imported, not the source tree's.
Push-Location $here
try {
    Invoke-Checked "PyInstaller" {
        & $venvPython -m PyInstaller --noconfirm --clean --log-level WARN `
            --workpath $workpath --distpath $distpath (Join-Path $here "tracemark.spec")
    }
} finally { Pop-Location }
$app = Join-Path $distpath "tracemark"
$size = (Get-ChildItem $app -Recurse -File | Measure-Object -Sum Length)
Write-Host ("folder: {0:N0} MB ({1} files) at {2}" -f ($size.Sum / 1MB), $size.Count, $app)
if ($NoSmoke) { exit 0 }

Write-Host "== smoke test (a copy, from an empty working folder)"
$scratch = Join-Path ([IO.Path]::GetTempPath()) ("tracemark-smoke-" + [guid]::NewGuid().ToString("N"))
New-Item -ItemType Directory -Path (Join-Path $scratch "cwd") | Out-Null
Copy-Item -Recurse $app (Join-Path $scratch "app")
$exe = Join-Path $scratch "app\tracemark.exe"
$env:QT_QPA_PLATFORM = "offscreen"
# No Python of the build machine may leak into the run.
Remove-Item Env:PYTHONPATH, Env:PYTHONHOME, Env:VIRTUAL_ENV -ErrorAction SilentlyContinue
Push-Location (Join-Path $scratch "cwd")
try {
    Invoke-Checked "the folder check" {
        & $venvPython -c "import sys; sys.path.insert(0, sys.argv[1]); import bundle; p = bundle.check_folder(sys.argv[2]); print('\n'.join(p) or 'folder check: complete'); sys.exit(1 if p else 0)" $here (Join-Path $scratch "app")
    }
    $version = "$(& $exe --version)"
    if ($LASTEXITCODE -ne 0 -or $version -notmatch "^tracemark \d" -or $version -match "unknown") {
        throw "build-windows.ps1: tracemark --version printed '$version'"
    }
    Write-Host "version: $version"
    foreach ($attempt in "first", "second") {   # the first run also generates the demo
        $out = & $exe --smoke-test (Join-Path $scratch "window-$attempt.png")
        if ($LASTEXITCODE -ne 0) { throw "build-windows.ps1: tracemark --smoke-test ($attempt run) failed" }
        Write-Host "$attempt run: $out"
    }
    # The windowed program has no console to print to: its exit code is the verdict.
    $windowed = Start-Process -FilePath (Join-Path $scratch "app\tracemarkw.exe") -Wait -PassThru `
        -ArgumentList "--smoke-test", (Join-Path $scratch "window-windowed.png")
    if ($windowed.ExitCode -ne 0) { throw "build-windows.ps1: tracemarkw --smoke-test exited $($windowed.ExitCode)" }
    Write-Host "windowed run: passed"
    # Where platformdirs puts the demo: the user's local application data.
    $demo = Get-ChildItem (Join-Path $env:LOCALAPPDATA "tracemark\demo") -Filter *.TRC | Select-Object -First 1
    $info = & $exe info $demo.FullName
    if ($LASTEXITCODE -ne 0) { throw "build-windows.ps1: tracemark info $($demo.FullName) failed" }
    Write-Host "info: $($info | Select-Object -First 1)"
} finally { Pop-Location }
Remove-Item -Recurse -Force (Join-Path $scratch "app")
Write-Host "smoke test passed; pictures of the window in $scratch"
