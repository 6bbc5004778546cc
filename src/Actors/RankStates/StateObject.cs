using System.Text.Json;

namespace ActorCkpt;

/// <summary>A leaf of nested state holding a non-tensor value (bytes or JSON) with its scope.</summary>
/// <param name="Bytes">The value's bytes.</param>
/// <param name="Scope">Global or per rank.</param>
internal sealed record StateObject(byte[] Bytes, ObjectScope Scope)
{
    /// <summary>A value serialized as JSON.</summary>
    public static StateObject Json<T>(T value, ObjectScope scope) => new(JsonSerializer.SerializeToUtf8Bytes(value), scope);
}
