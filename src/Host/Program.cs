namespace XtcpEpoll.Host; static class Program { static int Main(string[] a) => 0; }
