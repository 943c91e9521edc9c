using XtcpEpoll.Loop.Polling;

namespace XtcpEpoll.Loop.Namespaces;

/// <summary>What the registry asks of its owner (the control thread's wiring): open, attach, detach, close.</summary>
internal interface INamespaceRegistryActions
{
    /// <summary>Ask the opener for a sock_diag socket in the namespace behind the request's path.</summary>
    void Open(OpenRequest request);

    /// <summary>A verified socket for <paramref name="entry"/>: give it to a lane; returns the lane's handle.</summary>
    NamespaceHandle Attach(NamespaceEntry entry, OpenResult opened);

    /// <summary>The namespace is gone: its lane stops polling it and closes the socket.</summary>
    void Detach(NamespaceHandle handle);

    /// <summary>A socket nobody wants any more (its namespace went, or was asked for again, meanwhile): close it.</summary>
    void Discard(OpenResult unwanted);

    /// <summary>Every namespace found at start-up has answered (opened or failed): the first poll may start.</summary>
    void InitialOpensDone();
}
