using System.Globalization;

namespace ActorCkpt.Cli;

/// <summary>
/// Progress of one piece of long work, in bytes. On a terminal, a bar redrawn in place each time
/// the whole percentage changes; when output is redirected, a plain line at each quarter and one
/// where the work stopped, if elsewhere. Safe to report from many threads. The total may grow
/// while the work runs (a save learns its size when the planner assigns the writes). Disposing it
/// ends the display.
/// </summary>
/// <param name="output">Where the display goes.</param>
/// <param name="terminal">Whether <paramref name="output"/> is a terminal (a bar redrawn in place) or redirected (plain lines).</param>
/// <param name="label">What the work is, at the start of each line.</param>
/// <param name="total">Bytes of the work known at the start (more may be added).</param>
internal sealed class CliProgress(TextWriter output, bool terminal, string label, long total) : IByteProgress, IDisposable
{
    private const int Width = 30;
    private readonly object _gate = new();
    private long _done;
    private long _total = total;
    private int _shown = -1;
    private bool _ended;
    private int _drawn;

    /// <summary>Adds <paramref name="bytes"/> to the work's total.</summary>
    public void AddTotal(long bytes)
    {
        lock (_gate) _total += bytes;
    }

    /// <summary>Adds <paramref name="bytes"/> done.</summary>
    public void Report(long bytes)
    {
        lock (_gate)
        {
            _done += bytes;
            Show();
        }
    }

    /// <summary>Ends the display: the bar's line is finished, and the last plain line printed if it was not.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_ended) return;
            _ended = true;
            // Ended before the work was even measured (the command failed first): nothing to show.
            if (_total == 0 && _done == 0 && _drawn == 0 && _shown < 0) return;
            if (terminal)
            {
                Draw(Percent());
                output.WriteLine();
            }
            else if (Percent() != _shown)
            {
                output.WriteLine(Line(Percent()));
            }
        }
    }

    private int Percent() => _total <= 0 ? 0 : (int)Math.Min(100, _done * 100 / _total);

    private void Show()
    {
        if (_ended) return;
        var percent = Percent();
        if (terminal)
        {
            if (percent == _shown) return;
            _shown = percent;
            Draw(percent);
        }
        else if (percent / 25 > Math.Max(_shown, 0) / 25)
        {
            _shown = percent;
            output.WriteLine(Line(percent));
        }
    }

    private void Draw(int percent)
    {
        var filled = percent * Width / 100;
        var line = $"{label} [{new string('#', filled)}{new string('.', Width - filled)}] {percent,3}% {Size(_done)} of {Size(_total)}";
        // Pad over what a longer line drawn before left behind.
        _drawn = Math.Max(_drawn, line.Length);
        output.Write("\r" + line.PadRight(_drawn));
        output.Flush();
    }

    private string Line(int percent) => $"{label}: {percent}% ({Size(_done)} of {Size(_total)})";

    /// <summary>Bytes in the largest binary unit that keeps the number at least 1 (1.5 GiB).</summary>
    public static string Size(long bytes)
    {
        string[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return value.ToString(unit == 0 ? "0" : "0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }
}
