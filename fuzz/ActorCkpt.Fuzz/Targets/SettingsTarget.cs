using System.Text;
using Akka.Configuration;

namespace ActorCkpt.Fuzz;

/// <summary>
/// The <c>actorckpt</c> settings from HOCON text: the input, read as UTF-8, is parsed by Akka and
/// then loaded by <see cref="ActorCkptSettings.Create(Config)"/> (which runs <see cref="SettingsValidator"/>)
/// and <see cref="ActorCkptConfig.CatalogConnection"/>; both must accept or refuse with
/// <see cref="ConfigurationException"/>. Text Akka's own HOCON parser refuses (whatever it throws)
/// is refused input: that parser is Akka's, and our code never sees such text.
/// </summary>
internal sealed class SettingsTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "settings";

    /// <inheritdoc />
    protected override void Feed(ReadOnlySpan<byte> input)
    {
        Config config;
        try
        {
            config = ConfigurationFactory.ParseString(Encoding.UTF8.GetString(input));
        }
        catch (Exception e)
        {
            throw new RefusedByAkka(e);
        }
        ActorCkptSettings.Create(config);
        ActorCkptConfig.CatalogConnection(config, "/checkpoints");
    }

    /// <inheritdoc />
    protected override bool IsBadInput(Exception e) => e is ConfigurationException or RefusedByAkka;

    /// <summary>Akka's HOCON parser refused the text.</summary>
    private sealed class RefusedByAkka(Exception inner) : Exception("Akka's HOCON parser refused the text", inner);
}
