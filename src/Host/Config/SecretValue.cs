namespace XtcpEpoll.Host.Config;

/// <summary>
/// Secrets never on the command line: a value written "@/path" is read from that file (for sasl.password,
/// ssl.key.password, an Authorization header...). "@${CREDENTIALS_DIRECTORY}/name" (or "@$CREDENTIALS_DIRECTORY/name")
/// reads a credential systemd handed over with LoadCredential=. One trailing newline is dropped (echo adds one).
/// A secret file readable by group or others is used, with a warning.
/// </summary>
public static class SecretValue
{
    public const string CredentialsDirectoryVariable = "CREDENTIALS_DIRECTORY";

    /// <summary>True for the "@..." form.</summary>
    public static bool IsFileReference(string text) => text.StartsWith('@');

    /// <summary>
    /// The value itself, or the contents of the file it names. <paramref name="file"/> is that file (null for
    /// a literal); a problem is a one-line <paramref name="error"/>.
    /// </summary>
    public static bool TryResolve(string text, Func<string, string?> environment, List<string> warnings,
        out string value, out string? file, out string error)
    {
        value = text;
        file = null;
        error = "";
        if (!IsFileReference(text)) return true;
        var path = text[1..];
        foreach (var variable in (ReadOnlySpan<string>)["${" + CredentialsDirectoryVariable + "}", "$" + CredentialsDirectoryVariable])
        {
            if (!path.StartsWith(variable, StringComparison.Ordinal)) continue;
            var directory = environment(CredentialsDirectoryVariable);
            if (string.IsNullOrEmpty(directory))
            {
                error = $"{text}: ${CredentialsDirectoryVariable} is not set (systemd sets it for units with LoadCredential=)";
                return false;
            }
            path = directory.TrimEnd('/') + path[variable.Length..];
            break;
        }
        if (!Path.IsPathRooted(path))
        {
            error = $"{text}: a secret file is given as @/absolute/path or @${{{CredentialsDirectoryVariable}}}/name";
            return false;
        }
        try
        {
            value = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read secret file {path}: {e.Message}";
            return false;
        }
        if (value.EndsWith("\r\n", StringComparison.Ordinal)) value = value[..^2];
        else if (value.EndsWith('\n')) value = value[..^1];
        if (value.Length == 0)
        {
            error = $"secret file {path} is empty";
            return false;
        }
        file = path;
        if (PermissionWarning(path) is { } warning) warnings.Add(warning);
        return true;
    }

    /// <summary>A warning when a file holding a secret (or a private key) can be read by group or others.</summary>
    public static string? PermissionWarning(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        UnixFileMode mode;
        try
        {
            mode = File.GetUnixFileMode(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // reading it will report the problem
        }
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) == 0) return null;
        var octal = Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');
        var who = (mode & UnixFileMode.OtherRead) != 0 ? "every user" : "its group";
        return $"secret file {path} is readable by {who} (mode {octal}): chmod 600 it, or hand it over with systemd LoadCredential=";
    }
}
