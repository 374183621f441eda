from govperf.cli import main

raise SystemExit(main())
