using UniCLift.Silo;

SiloHost.Build(args).Run();
