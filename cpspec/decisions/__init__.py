"""Agent worlds and optimal decisions: MDPs and their unrolled diagrams (``mdp``),
optimal policies by backward induction, policy iteration and closed forms (``solving``),
general influence diagrams (``influence``) and their incentives: the graphical criteria
and the exact values of information and control (``incentive_criteria``)."""
