using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>
/// The JSON of the scalar fields that states carry by reflection (<see cref="SchedulerState"/>,
/// <see cref="OptimizerStateDict"/>): a double that is not finite (a ReduceLROnPlateau's
/// <c>mode_worst</c>, and its <c>best</c> before the first metric) is written as "Infinity",
/// "-Infinity" or "NaN", which plain System.Text.Json refuses to write.
/// </summary>
internal static class ScalarJson
{
    private static readonly JsonSerializerOptions Options = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary><paramref name="value"/>, of <paramref name="type"/>, as a JSON node.</summary>
    public static JsonNode? From(object? value, Type type) => JsonSerializer.SerializeToNode(value, type, Options);

    /// <summary>The value of <paramref name="type"/> that <paramref name="node"/> holds.</summary>
    public static object? To(JsonNode node, Type type) => node.Deserialize(type, Options);
}
