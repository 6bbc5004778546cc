using System.Text;
using Akka.Configuration;

namespace ActorCkpt.Fuzz;

/// <summary>
/// The <c>actorckpt</c> settings from HOCON text, through the door every user's HOCON takes: the
/// input, read as UTF-8, is parsed by <see cref="UserHocon.Parse"/> (brackets checked before Akka's
/// parser sees it) and then loaded by <see cref="ActorCkptSettings.Create(Config)"/> (which runs
/// <see cref="SettingsValidator"/>) and <see cref="ActorCkptConfig.CatalogConnection"/>; each must
/// accept or refuse with <see cref="ConfigurationException"/>.
/// </summary>
internal sealed class SettingsTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "settings";

    /// <inheritdoc />
    protected override void Feed(ReadOnlySpan<byte> input)
    {
        var config = UserHocon.Parse(Encoding.UTF8.GetString(input), "the input");
        ActorCkptSettings.Create(config);
        ActorCkptConfig.CatalogConnection(config, "/checkpoints");
    }

    /// <inheritdoc />
    protected override bool IsBadInput(Exception e) => e is ConfigurationException;
}
