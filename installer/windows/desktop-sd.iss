; Inno Setup 6 script: the Windows installer of Desktop SD.
;
; Build the bundle first (packaging/build.sh, run from Git Bash, leaves dist\desktop-sd\), then:
;   iscc installer\windows\desktop-sd.iss                     (the CPU build)
;   iscc /DVariant=cuda installer\windows\desktop-sd.iss      (a bundle built with --variant cuda)
; Output: dist\desktop-sd-<version>-windows-x64-<variant>-setup.exe
;
; Installs for the current user or for everyone (the user chooses), adds a Start-menu
; shortcut, offers Desktop SD in "Open with" for PNG, JPEG and WebP images and opens
; .sdproj projects. Uninstalling keeps the user's history, models and settings unless
; the user asks to delete them.
; The version must equal pyproject.toml's (tests/packaging checks it).

#define AppName "Desktop SD"
#define AppVersion "0.1.0"
#define AppPublisher "Desktop SD contributors"
#define ExeName "desktop-sd.exe"
#define CliExeName "desktop-sd-cli.exe"
#define AppUserModelID "org.desktopsd.DesktopSD"
#define DataFolder "desktop-sd"
#ifndef Variant
  #define Variant "cpu"
#endif

[Setup]
; AppId identifies the app across versions: never change it, or upgrades install side by side.
AppId={{4942203A-6D67-4923-8139-403C0EA5E484}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename=desktop-sd-{#AppVersion}-windows-x64-{#Variant}-setup
SetupIconFile=..\..\resources\icons\app\desktop-sd.ico
UninstallDisplayIcon={app}\{#ExeName}
UninstallDisplayName={#AppName}
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
ChangesAssociations=yes
CloseApplications=yes
#if Variant == "cuda"
; The CUDA build is larger than one setup file may be: the data goes into setup-*.bin files beside it.
DiskSpanning=yes
DiskSliceSize=max
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\desktop-sd\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the whole bundle: files of the old version must not linger beside the new one.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#ExeName}"; AppUserModelID: "{#AppUserModelID}"
Name: "{group}\{#AppName} self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\{#CliExeName}"" --selftest"; IconFilename: "{app}\{#ExeName}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#ExeName}"; Tasks: desktopicon; AppUserModelID: "{#AppUserModelID}"

[Registry]
; "Open with" for images: a ProgID listed under each extension's OpenWithProgids (the user's
; default app for PNG stays as it is).
Root: HKA; Subkey: "Software\Classes\DesktopSD.Image"; ValueType: string; ValueName: ""; ValueData: "Image"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\DesktopSD.Image\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#ExeName},0"
Root: HKA; Subkey: "Software\Classes\DesktopSD.Image\shell\open"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"
Root: HKA; Subkey: "Software\Classes\DesktopSD.Image\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#ExeName}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.png\OpenWithProgids"; ValueType: string; ValueName: "DesktopSD.Image"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.jpg\OpenWithProgids"; ValueType: string; ValueName: "DesktopSD.Image"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.jpeg\OpenWithProgids"; ValueType: string; ValueName: "DesktopSD.Image"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.webp\OpenWithProgids"; ValueType: string; ValueName: "DesktopSD.Image"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Applications\{#ExeName}"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#ExeName}\SupportedTypes"; ValueType: string; ValueName: ".png"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#ExeName}\SupportedTypes"; ValueType: string; ValueName: ".jpg"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#ExeName}\SupportedTypes"; ValueType: string; ValueName: ".jpeg"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#ExeName}\SupportedTypes"; ValueType: string; ValueName: ".webp"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#ExeName}\SupportedTypes"; ValueType: string; ValueName: ".sdproj"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#ExeName}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#ExeName}"" ""%1"""
; Projects (.sdproj) are the app's own files: Desktop SD opens them on double-click.
Root: HKA; Subkey: "Software\Classes\.sdproj"; ValueType: string; ValueName: ""; ValueData: "DesktopSD.Project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.sdproj"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-desktop-sd-project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\DesktopSD.Project"; ValueType: string; ValueName: ""; ValueData: "Desktop SD project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\DesktopSD.Project\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#ExeName},0"
Root: HKA; Subkey: "Software\Classes\DesktopSD.Project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#ExeName}"" ""%1"""

[Run]
Filename: "{app}\{#ExeName}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
{ The app keeps history, models, settings and logs in %LOCALAPPDATA%\desktop-sd (platformdirs'
  user folders), never in the install folder. Uninstalling keeps them unless the user says
  otherwise; a silent uninstall always keeps them. A history folder the user moved elsewhere
  is never touched. }
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir: String;
begin
  if CurUninstallStep <> usPostUninstall then
    Exit;
  DataDir := ExpandConstant('{localappdata}\{#DataFolder}');
  if UninstallSilent or not DirExists(DataDir) then
    Exit;
  if MsgBox('Desktop SD has been removed.' + #13#10#13#10 +
            'Your images, history, downloaded models and settings are still in' + #13#10 +
            DataDir + #13#10#13#10 +
            'Delete them too? This cannot be undone.',
            mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
    DelTree(DataDir, True, True, True);
end;
