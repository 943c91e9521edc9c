using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Tmds.Linux;
using Xunit;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// One interop layer: native calls go through Tmds.LibC, and the few it lacks are declared once, in
/// src/Netlink/Native (every project references XtcpEpoll.Netlink). A new import anywhere else, or a local
/// copy of a call Tmds.LibC already has, fails here. Binding by hand (NativeLibrary.GetExport/Load cast to a
/// function pointer) is an import too: only librdkafka is bound that way, in one file, because it must be
/// the instance Confluent.Kafka loaded (<see cref="XtcpEpoll.Sinks.Destinations.Librdkafka"/>).
/// </summary>
public sealed partial class InteropGuardTests
{
    private static readonly string LayerDirectory = Path.Combine("src", "Netlink", "Native") + Path.DirectorySeparatorChar;
    private static readonly string LibrdkafkaBinding = Path.Combine("src", "Sinks", "Destinations", "Librdkafka.cs");
    private static readonly string ThisFile = Path.Combine("tests", "Netlink", "InteropGuardTests.cs"); // its samples are imports

    [GeneratedRegex(@"\[\s*(?:assembly:\s*)?(?:System\.Runtime\.InteropServices\.)?(?:DllImport|LibraryImport)(?:Attribute)?\s*\(|\bstatic\s+extern\b")]
    private static partial Regex ImportPattern();

    // NativeLibrary.GetExport / TryGetExport / Load / TryLoad, qualified or through `using static`.
    [GeneratedRegex(@"\bNativeLibrary\s*\.\s*(?:Try)?(?:GetExport|Load)\b|\busing\s+static\s+(?:System\.Runtime\.InteropServices\.)?NativeLibrary\b")]
    private static partial Regex ExportBindingPattern();

    [Theory]
    [InlineData("[DllImport(\"libc\")]", true)]
    [InlineData("[LibraryImport(\"libc\", SetLastError = true)]", true)]
    [InlineData("private static extern int close(int fd);", true)]
    [InlineData("var f = (delegate* unmanaged<nint>)NativeLibrary.GetExport(handle, \"rd_kafka_conf_new\");", false)]
    [InlineData("System.Runtime.InteropServices.NativeLibrary.TryGetExport(h, \"x\", out var p);", false)]
    [InlineData("var h = NativeLibrary.Load(path);", false)]
    [InlineData("using static System.Runtime.InteropServices.NativeLibrary;", false)]
    public void The_patterns_see_every_form_of_import(string line, bool declaration)
    {
        Assert.Equal(declaration, ImportPattern().IsMatch(line));
        Assert.Equal(!declaration, ExportBindingPattern().IsMatch(line));
    }

    [Theory]
    [InlineData("var exports = Librdkafka.Export(\"rd_kafka_new\");")]
    [InlineData("// the library is loaded once")]
    [InlineData("return Marshal.PtrToStringUTF8(p);")]
    public void Ordinary_lines_are_not_imports(string line)
    {
        Assert.DoesNotMatch(ImportPattern(), line);
        Assert.DoesNotMatch(ExportBindingPattern(), line);
    }

    [Fact]
    public void Only_the_interop_layer_declares_native_imports()
    {
        var offenders = new List<string>();
        int scanned = 0;
        foreach (var top in new[] { "src", "tests", "bench" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, top), "*.cs", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(TestPaths.RepoRoot, file);
                var parts = relative.Split(Path.DirectorySeparatorChar);
                if (parts.Contains("obj") || parts.Contains("bin")) continue;
                scanned++;
                if (relative.StartsWith(LayerDirectory, StringComparison.Ordinal) || relative == ThisFile) continue;
                var bindsLibrdkafka = relative == LibrdkafkaBinding;
                foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
                    if (ImportPattern().IsMatch(line) || (!bindsLibrdkafka && ExportBindingPattern().IsMatch(line)))
                        offenders.Add($"{relative}:{number}: {line.Trim()}");
            }
        }
        Assert.True(scanned > 100, $"only {scanned} files scanned: is {TestPaths.RepoRoot} the repository?");
        Assert.True(offenders.Count == 0,
            "declare native calls in src/Netlink/Native/LibCAdditions.cs only (and only what Tmds.LibC lacks); "
            + "bind librdkafka functions through Librdkafka.Export:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void The_layer_declares_only_what_Tmds_LibC_lacks()
    {
        var imports = typeof(LibCAdditions).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() != null || m.GetCustomAttribute<DllImportAttribute>() != null)
            .Select(m => m.Name)
            .ToList();
        Assert.NotEmpty(imports);
        var duplicated = imports.Where(name => typeof(LibC).GetMethod(name, BindingFlags.Public | BindingFlags.Static) != null).ToList();
        Assert.True(duplicated.Count == 0, "Tmds.LibC already has: " + string.Join(", ", duplicated));

        // Nor do the layer's other types import anything of their own.
        var elsewhere = typeof(LibCAdditions).Assembly.GetTypes()
            .Where(t => t != typeof(LibCAdditions))
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() != null || (m.Attributes & MethodAttributes.PinvokeImpl) != 0)
            .Where(m => m.DeclaringType?.DeclaringType != typeof(LibCAdditions)) // LibraryImport's generated stubs
            .Select(m => $"{m.DeclaringType}.{m.Name}")
            .ToList();
        Assert.True(elsewhere.Count == 0, "imports outside LibCAdditions: " + string.Join(", ", elsewhere));
    }
}
