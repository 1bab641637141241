"""The KFP side of knowledge mixing: the command line (run, compile, submit), the settings it
reads, local running, submit, plug-in resolution and cluster settings. It may import kfp;
compiling needs only kfp and kfp-kubernetes."""
