using ActorCkpt.Cli;

ProcessMalloc.FixMmapThreshold();
return ActorCkptCli.Run(args);
