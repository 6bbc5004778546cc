namespace ActorCkpt;

/// <summary>
/// What a frame of the bulk channel says. A connection opens with <see cref="Hello"/> both ways;
/// then, one transfer at a time, the client opens a transfer (<see cref="Push"/> or
/// <see cref="Fetch"/>), the server answers <see cref="Accepted"/> or <see cref="Refused"/>, the
/// sending side sends <see cref="Data"/> within the <see cref="Credit"/> the receiving side grants,
/// then <see cref="End"/>, and the receiving side answers <see cref="Done"/> or <see cref="Failed"/>.
/// </summary>
internal enum BulkFrameKind : byte
{
    /// <summary>Opens a connection; position: the protocol version.</summary>
    Hello = 1,

    /// <summary>Client to server: the client sends a transfer; payload: the token; position: the transfer's length.</summary>
    Push = 2,

    /// <summary>Client to server: the client asks for a transfer; payload: the token.</summary>
    Fetch = 3,

    /// <summary>Server to client: the token was admitted; position: the transfer's length.</summary>
    Accepted = 4,

    /// <summary>Server to client: the token was not admitted; payload: why (UTF-8). The server closes the connection.</summary>
    Refused = 5,

    /// <summary>Bytes of the transfer; position: where they go in it; checksum: xxHash3-64 of the payload.</summary>
    Data = 6,

    /// <summary>The receiving side has consumed the bytes up to position: the sender may have that many plus the window in flight.</summary>
    Credit = 7,

    /// <summary>The sending side has sent everything; position: the transfer's length.</summary>
    End = 8,

    /// <summary>The receiving side has every byte, checked and handed over; position: the transfer's length.</summary>
    Done = 9,

    /// <summary>Either side gives up on the transfer; payload: why (UTF-8). The connection is closed after it.</summary>
    Failed = 10,
}
