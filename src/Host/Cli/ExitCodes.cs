namespace XtcpEpoll.Host.Cli;

public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Runtime failure after start (sink could not be created, listener port taken, loop died).</summary>
    public const int Failure = 1;
    /// <summary>Bad command line, environment value or input file: nothing was started.</summary>
    public const int Usage = 2;
}
