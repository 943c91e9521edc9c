namespace XtcpEpoll.Loop.Attribution;

/// <summary>
/// Where the cgroup v2 hierarchy is mounted: <c>/sys/fs/cgroup</c> on v2-only hosts, <c>/sys/fs/cgroup/unified</c>
/// on hybrid ones (v1 controllers at /sys/fs/cgroup/*). Read from /proc/self/mountinfo, so a host mounting it
/// elsewhere is found too. INET_DIAG_CGROUP_ID is an inode of this hierarchy (on v1-only hosts there is none
/// and sockets are attributed by namespace only).
/// </summary>
internal static class CgroupRoot
{
    /// <summary>The cgroup2 mount point, preferring the standard ones; null when none is mounted.</summary>
    public static string? Find(string mountInfoPath = "/proc/self/mountinfo")
    {
        string text;
        try { text = File.ReadAllText(mountInfoPath); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        return FindIn(text);
    }

    /// <summary>The same from a mountinfo text (tests).</summary>
    public static string? FindIn(string mountInfo)
    {
        string? first = null;
        foreach (var line in mountInfo.Split('\n'))
        {
            // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS"
            int separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0) continue;
            var after = line[(separator + 3)..].Split(' ');
            if (after.Length == 0 || after[0] != "cgroup2") continue;
            var before = line[..separator].Split(' ');
            if (before.Length < 5) continue;
            var mountPoint = Unescape(before[4]);
            if (mountPoint is "/sys/fs/cgroup" or "/sys/fs/cgroup/unified") return mountPoint;
            first ??= mountPoint;
        }
        return first;
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as \ooo octal escapes.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var sb = new System.Text.StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length
                && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                sb.Append((char)((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0')));
                i += 3;
            }
            else sb.Append(field[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
