// The tests create network namespaces and read the Linux kernel: they run on Linux only, and may use
// Linux-only APIs (file modes, ...) without a platform guard at each call.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
